import { createServer, request as httpRequest, type Server } from 'node:http'
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startProcess, stopProcess, waitFor } from './clients.js'
import type { ChildProcess } from 'node:child_process'
import type { AddressInfo } from 'node:net'

export interface CountedRequest { method: string, path: string, range?: string, ns?: string, status: number, bytes: number }

/**
 * A reverse proxy in front of the registry that records every request and
 * the body bytes it returned: what "fetched from the registry once" is
 * measured with.
 */
export class CountingProxy {
  private server?: Server
  readonly log: CountedRequest[] = []
  url = ''
  host = ''

  constructor (private readonly target: number) {}

  async start (): Promise<string> {
    this.server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x')
      const entry: CountedRequest = { method: req.method ?? '', path: u.pathname, range: req.headers.range, ns: u.searchParams.get('ns') ?? undefined, status: 0, bytes: 0 }
      this.log.push(entry)
      const headers = { ...req.headers, host: `127.0.0.1:${this.target}` }
      const up = httpRequest({ host: '127.0.0.1', port: this.target, method: req.method, path: req.url, headers }, (ur) => {
        entry.status = ur.statusCode ?? 0
        // the registry builds absolute Location URLs from Host: keep clients on this side
        const h = { ...ur.headers }
        if (typeof h.location === 'string') h.location = h.location.replace(`127.0.0.1:${this.target}`, this.host)
        res.writeHead(ur.statusCode ?? 502, h)
        ur.on('data', (c: Buffer) => { entry.bytes += c.byteLength })
        ur.pipe(res)
      })
      up.on('error', () => { res.destroy() })
      req.pipe(up)
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`
    this.url = `http://${this.host}`
    return this.url
  }

  /** GETs of a blob that asked for more than the 1-byte size probe. */
  blobGets (digest: string): CountedRequest[] {
    return this.log.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${digest}`) && r.range !== 'bytes=0-0')
  }

  blobBytes (digest: string): number {
    return this.log.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${digest}`)).reduce((a, r) => a + r.bytes, 0)
  }

  async stop (): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => this.server?.close(() => { resolve() }) ?? resolve())
  }
}

/** A containerd of its own (root, state, socket under `dir`), as a second host would have. */
export class LocalContainerd {
  child?: ChildProcess
  socket = ''
  output: () => string = () => ''

  async start (bin: string, ctr: string, dir: string): Promise<string> {
    this.socket = join(dir, 'containerd.sock')
    const config = join(dir, 'config.toml')
    await mkdir(dir, { recursive: true })
    await writeFile(config, [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      // nothing here runs containers: only the content store is used
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
      '[grpc]',
      `  address = "${this.socket}"`,
      '[ttrpc]',
      `  address = "${this.socket}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${join(dir, 'opt')}"`,
      ''
    ].join('\n'))
    const p = startProcess(bin, ['--config', config])
    this.child = p.child
    this.output = p.output
    const { run } = await import('./clients.js')
    await waitFor(`containerd (${p.output().slice(-2000)})`, async () => { await run(ctr, ['-a', this.socket, 'version'], { timeoutMs: 5000 }); return true })
    return this.socket
  }

  async stop (): Promise<void> { await stopProcess(this.child) }
}

/**
 * A dockerd of its own, as deploy/compose/smoke.sh starts one (own data root, exec root and
 * socket; no bridge, NAT, iptables rules or forwarding change), run inside a private mount
 * namespace (`unshare -m`) where a temp dir is bind-mounted over /etc/docker: the engine's
 * registry trust (`/etc/docker/certs.d/<host:port>/ca.crt`, a path dockerd does not let one
 * change) and the key.json it writes stay in that dir, and /run/containerd is covered too, so
 * it supervises a containerd of its own instead of using the host's. Everything it mounts
 * dies with the namespace when it stops.
 */
export class LocalDockerd {
  child?: ChildProcess
  socket = ''
  output: () => string = () => ''

  /** `certs` maps a registry's `host:port` to the CA file this engine trusts for it. */
  async start (dir: string, opts: { env: NodeJS.ProcessEnv, certs?: Record<string, string>, docker: string }): Promise<string> {
    const etc = join(dir, 'etc-docker')
    const emptyRun = join(dir, 'run-containerd')
    await mkdir(emptyRun, { recursive: true })
    for (const [host, ca] of Object.entries(opts.certs ?? {})) {
      await mkdir(join(etc, 'certs.d', host), { recursive: true })
      await copyFile(ca, join(etc, 'certs.d', host, 'ca.crt'))
    }
    await mkdir(etc, { recursive: true })
    await writeFile(join(etc, 'daemon.json'), '{}\n')
    this.socket = join(dir, 'docker.sock')
    const script = 'set -e; mount --bind "$1" /etc/docker; if [ -d /run/containerd ]; then mount --bind "$2" /run/containerd; fi; shift 2; exec "$@"'
    const p = startProcess('unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', etc, emptyRun,
      'dockerd', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', `unix://${this.socket}`,
      '--pidfile', join(dir, 'dockerd.pid'), '--config-file', join(etc, 'daemon.json'),
      '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false'], opts.env)
    this.child = p.child
    this.output = p.output
    const { run } = await import('./clients.js')
    await waitFor(`dockerd (${p.output().slice(-2000)})`, async () => {
      if (p.child.exitCode != null) throw new Error(`dockerd exited: ${p.output().slice(-2000)}`)
      await run(opts.docker, ['-H', `unix://${this.socket}`, 'version'], { timeoutMs: 5000 })
      return true
    })
    return this.socket
  }

  /** SIGTERM and a bounded wait (dockerd stops its containerd first), then SIGKILL. */
  async stop (): Promise<void> {
    const child = this.child
    if (child == null || child.exitCode != null || child.signalCode != null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(t)
  }
}
