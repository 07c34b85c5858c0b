import assert from 'node:assert/strict'
import { constants } from 'node:fs'
import { access, copyFile, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { withLab } from '../helpers/fixtures.js'
import { selfSigned, type SelfSigned } from '../helpers/certs.js'
import { baseEnv, GO_LOOPBACK, run, which } from '../helpers/clients.js'
import { buildOciImage, type OciImage } from '../helpers/oci-image.js'
import { Registry } from '../helpers/origin-registry.js'
import { LocalDockerd } from '../helpers/registry.js'

interface AccessLine { path: string, status: number, bytes: number }

/** GET lines of the registry's access log (combined log format: "GET path HTTP/1.1" status bytes). */
function gets (registry: Registry): AccessLine[] {
  const out: AccessLine[] = []
  for (const l of registry.log) {
    const m = /"GET (\S+) HTTP\/[\d.]+" (\d{3}) (\d+|-)/.exec(l)
    if (m != null) out.push({ path: m[1], status: Number(m[2]), bytes: m[3] === '-' ? 0 : Number(m[3]) })
  }
  return out
}

/**
 * A real Docker engine (Debian's dockerd 20.10, root) pulling from a TLS docker-registry with a
 * peer as its HTTPS_PROXY while the peer intercepts the registry's host (`--hijack-https`):
 * dockerd trusts only the peer's CA for that registry (certs.d), the peer verifies the
 * registry's own certificate (`--ca-file`), and two engines pulling through two different
 * peers read each blob from the registry once.
 */
describe('HTTPS interception for Docker', function () {
  this.timeout(240_000)
  let cert: SelfSigned
  let registry: Registry
  let image: OciImage
  let docker: string
  let ref: string
  let regHost: string
  const engines: LocalDockerd[] = []

  // registered ahead of the fixture: a skip here skips its setup too
  before(async function () {
    const need: Array<[string, string]> = [['dockerd', 'docker.io'], ['docker', 'docker.io'], ['docker-registry', 'docker-registry'], ['skopeo', 'skopeo'], ['unshare', 'util-linux']]
    for (const [bin, pkg] of need) {
      if (await which(bin) == null) {
        process.stdout.write(`      skipped: ${bin} is not installed (Debian package ${pkg}; .ci/run installs it)\n`)
        this.skip()
      }
    }
    if (process.getuid?.() !== 0) {
      process.stdout.write('      skipped: dockerd needs root (a mount namespace and its own data root)\n')
      this.skip()
    }
    // Debian's CLI, the daemon's own version, where both are installed
    docker = await access('/usr/bin/docker', constants.X_OK).then(() => '/usr/bin/docker', async () => (await which('docker'))!)
  })
  after(async () => {
    for (const e of engines) await e.stop()
    await registry?.stop()
  })
  const f = withLab({
    name: 'docker',
    lab: async ({ dir }) => {
      cert = await selfSigned(dir, 'registry', [GO_LOOPBACK])
      registry = new Registry({ dir: join(dir, 'registry'), tls: cert })
      await registry.start()
      regHost = `${GO_LOOPBACK}:${registry.port}`
      ref = `${regHost}/test/img:v1`
      image = await buildOciImage(join(dir, 'layout'), 'v1', [6 * 1024 * 1024 + 77, 3 * 1024 * 1024 + 5])
      // pushed straight to the registry (not through a peer), trusting its own certificate; by its
      // IP address, as Go's resolver (skopeo's) does not read `127.1` as 127.0.0.1
      const certDir = join(dir, 'registry-certs')
      await mkdir(certDir)
      await copyFile(cert.certPath, join(certDir, 'ca.crt'))
      await run('skopeo', ['copy', '--insecure-policy', '--dest-cert-dir', certDir, `oci:${image.dir}:v1`, `docker://${registry.host}/test/img:v1`], { env: baseEnv() })
      return {
        peers: 2,
        peerArgs: ['--hijack-https', GO_LOOPBACK, '--ca-file', cert.certPath],
        seedArgs: ['--ca-file', cert.certPath],
        // the registry lives on loopback, which the proxy refuses unless allow-listed
        proxyAllow: ['127.0.0.1', 'localhost', GO_LOOPBACK]
      }
    }
  })

  const peer = (i: number): { proxy: string, ca: string } => ({ proxy: f.lab.endpoints!.peers[i].proxy!, ca: f.lab.endpoints!.peers[i].caCert! })

  /** An engine of its own whose HTTPS_PROXY is peer `i`, trusting `ca` for the registry. */
  const engine = async (name: string, i: number, ca?: string): Promise<LocalDockerd> => {
    const e = new LocalDockerd()
    engines.push(e)
    await e.start(join(f.dir, name), { docker, env: { ...baseEnv(), HTTPS_PROXY: peer(i).proxy }, certs: ca != null ? { [regHost]: ca } : {} })
    return e
  }
  const dockerEnv = (): NodeJS.ProcessEnv => ({ ...baseEnv(), DOCKER_CONFIG: join(f.dir, 'docker-cli') })

  it('should refuse the pull when the engine trusts only the registry\'s own certificate (the peer intercepts)', async () => {
    const e = await engine('untrusting', 0, cert.certPath)
    const before = gets(registry).length
    await assert.rejects(run(docker, ['-H', `unix://${e.socket}`, 'pull', ref], { env: dockerEnv() }), /x509: certificate signed by unknown authority/)
    assert.equal(gets(registry).length, before, 'the registry served nothing to an engine that refused the peer')
    await e.stop()
  })

  it('should pull through two peers\' proxies with the registry serving each blob once, the image as pushed', async () => {
    const config = JSON.parse(await readFile(join(image.dir, 'blobs', 'sha256', image.config.digest.slice(7)), 'utf8')) as { rootfs: { diff_ids: string[] } }
    for (const [i, name] of [[0, 'engine-a'], [1, 'engine-b']] as const) {
      const e = await engine(name, i, peer(i).ca)
      const h = ['-H', `unix://${e.socket}`]
      await run(docker, [...h, 'pull', ref], { env: dockerEnv(), timeoutMs: 120_000 })
      const { stdout } = await run(docker, [...h, 'image', 'inspect', '--format', '{{json .}}', ref], { env: dockerEnv() })
      const inspected = JSON.parse(stdout) as { Id: string, RepoDigests: string[], RootFS: { Layers: string[] } }
      assert.equal(inspected.Id, image.config.digest)
      assert.deepEqual(inspected.RepoDigests, [`${regHost}/test/img@${image.manifest.digest}`])
      assert.deepEqual(inspected.RootFS.Layers, config.rootfs.diff_ids)
      await e.stop()
    }
    const log = gets(registry)
    for (const blob of [image.config, ...image.layers]) {
      const mine = log.filter((l) => l.path.endsWith(`/blobs/${blob.digest}`))
      // one full read (the seed's); anything else is the peers' 1-byte access checks
      assert.equal(mine.filter((l) => l.bytes > 1).length, 1, `full GETs of ${blob.digest}: ${JSON.stringify(mine)}`)
      const served = mine.reduce((a, l) => a + l.bytes, 0)
      assert.ok(served <= blob.size + 4, `registry served ${served} bytes for a ${blob.size}-byte blob`)
    }
    // each engine's layers came through its own peer as P2P tasks, none of them from the registry
    for (const i of [0, 1]) {
      const tasks = await (await fetch(`${f.lab.endpoints!.peers[i].api}/api/v1/tasks`)).json() as Array<{ contentLength: number, bytesFromOrigin: number }>
      for (const layer of image.layers) {
        const t = tasks.find((x) => x.contentLength === layer.size)
        assert.ok(t != null, `peer ${i} served the ${layer.size}-byte layer as a P2P task`)
        assert.equal(t.bytesFromOrigin, 0)
      }
    }
  })
})
