import { Command, Option } from 'commander'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { homedir } from 'node:os'
import { containerdHostsToml, DEFAULT_PROXY_PORT } from '@damselfly/proxy'

export interface DfinitOptions {
  registries: string[]
  proxy: string
  certsDir: string
  plainHttp?: boolean
}

/**
 * Points containerd at the local peer's proxy: one `certs.d/<registry>/hosts.toml`
 * per registry. containerd reads these files per pull (with `config_path`
 * set, or `ctr --hosts-dir`), so no restart is needed. Returns the files written.
 */
export async function writeContainerdHosts (opts: DfinitOptions): Promise<string[]> {
  const written: string[] = []
  for (const registry of opts.registries) {
    const { dir, toml } = containerdHostsToml({ registry, proxy: opts.proxy, plainHttp: opts.plainHttp })
    const folder = join(resolve(opts.certsDir), dir)
    await mkdir(folder, { recursive: true })
    const file = join(folder, 'hosts.toml')
    await writeFile(file, toml)
    written.push(file)
  }
  return written
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

export function dfinitCommand (): Command {
  return new Command('dfinit')
    .description('configure containerd to pull through the local peer\'s proxy (writes certs.d/<registry>/hosts.toml)')
    .addOption(new Option('--registry <name>', 'registry as images name it, e.g. docker.io, ghcr.io, 127.0.0.1:5000 (repeatable)').argParser(collect))
    .addOption(new Option('--proxy <url>', 'the peer proxy').default(`http://127.0.0.1:${DEFAULT_PROXY_PORT}`))
    .addOption(new Option('--certs-dir <dir>', 'containerd\'s config_path').default('/etc/containerd/certs.d'))
    .option('--plain-http', 'reach the registries themselves over plain HTTP')
    .option('--print-ca', 'print the peer proxy\'s HTTPS interception CA certificate (PEM) for a trust store, creating it in --data-dir if the peer has not yet')
    .addOption(new Option('--data-dir <dir>', 'the peer\'s data dir, where its CA is kept').default(resolve(homedir(), '.damselfly', 'peer')).env('DAMSELFLY_DATA_DIR'))
    .addOption(new Option('--ca-cert <path>', 'the CA the peer was given with --ca-cert (with --ca-key)').env('DAMSELFLY_CA_CERT'))
    .addOption(new Option('--ca-key <path>', 'its private key').env('DAMSELFLY_CA_KEY'))
    .addHelpText('after', '\nExamples:\n  damselfly dfinit --registry docker.io --registry ghcr.io\n  damselfly dfinit --registry 127.0.0.1:5000 --certs-dir /tmp/certs.d --proxy http://127.0.0.1:65001\n  damselfly dfinit --print-ca > /usr/local/share/ca-certificates/damselfly.crt && update-ca-certificates\n\ncontainerd must have, in /etc/containerd/config.toml:\n  [plugins."io.containerd.grpc.v1.cri".registry]\n    config_path = "/etc/containerd/certs.d"\n')
    .action(async (opts) => {
      if (opts.printCa === true) {
        const files = opts.caCert != null && opts.caKey != null ? { certPath: resolve(opts.caCert), keyPath: resolve(opts.caKey) } : undefined
        const { CertificateAuthority } = await import('@damselfly/proxy/ca')
        const ca = await CertificateAuthority.load({ dataDir: resolve(opts.dataDir), files })
        process.stdout.write(ca.certPem)
        return
      }
      const files = await writeContainerdHosts({ registries: opts.registry ?? ['docker.io'], proxy: opts.proxy, certsDir: opts.certsDir, plainHttp: opts.plainHttp })
      for (const f of files) process.stdout.write(`${f}\n`)
    })
}
