import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeContainerdHosts } from '@damselfly/cli'
import { withLab } from '../helpers/fixtures.js'
import { fetchJson } from '@damselfly/testkit'
import { sha256File } from '@damselfly/testkit'
import { clientOrSkip, run } from '../helpers/clients.js'
import { buildOciImage, type OciImage } from '../helpers/oci-image.js'
import { CountingProxy, LocalContainerd } from '../helpers/registry.js'
import { Registry } from '../helpers/origin-registry.js'

/** sha256 of what a command writes to stdout (binary-safe). */
async function sha256Stdout (cmd: string, args: string[]): Promise<string> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] })
  const h = createHash('sha256')
  for await (const c of child.stdout) h.update(c as Buffer)
  return `sha256:${h.digest('hex')}`
}

describe('the peer proxy as a registry mirror for containerd and skopeo', function () {
  this.timeout(150_000)
  let image: OciImage
  let registry: Registry
  let counter: CountingProxy
  const containerds: LocalContainerd[] = []
  let bins: Record<'registry' | 'skopeo', string>

  // registered ahead of the fixture: without the registry and skopeo there is no image to pull, and no lab is started
  before(async function () { bins = { registry: await clientOrSkip(this, 'docker-registry'), skopeo: await clientOrSkip(this, 'skopeo') } })
  after(async () => {
    for (const c of containerds) await c.stop()
    await counter?.stop()
    await registry?.stop()
  })
  const f = withLab({
    name: 'proxy-oci',
    lab: async ({ dir }) => {
      image = await buildOciImage(join(dir, 'layout'), 'v1', [9 * 1024 * 1024 + 77, 5 * 1024 * 1024 + 5])
      registry = new Registry({ dir: join(dir, 'registry') })
      await registry.start()
      await run(bins.skopeo, ['copy', '--insecure-policy', '--dest-tls-verify=false', `oci:${image.dir}:v1`, `docker://${registry.host}/test/img:v1`])
      counter = new CountingProxy(registry.port)
      await counter.start()
      // the mirror upstream serves clients that name no registry (skopeo's registries.conf mirrors)
      // the mirror is allowed as configured; registries named by ?ns= on loopback must be allow-listed
      return { peers: 2, peerArgs: ['--registry-mirror', counter.url], proxyAllow: [new URL(counter.url).host, registry.host] }
    }
  })

  const blobs = (): Array<{ digest: string, size: number }> => [image.config, ...image.layers]

  it('should pull with containerd through two peers\' proxies, every blob read from the registry once', async function () {
    const containerd = await clientOrSkip(this, 'containerd')
    const ctr = await clientOrSkip(this, 'ctr', 'containerd')
    const ref = `${counter.host}/test/img:v1`
    for (const [i, peer] of f.lab.endpoints!.peers.entries()) {
      const host = join(f.dir, `host-${i}`)
      const certs = join(host, 'certs.d')
      await writeContainerdHosts({ registries: [counter.host], proxy: peer.proxy!, certsDir: certs })
      const ctrd = new LocalContainerd()
      containerds.push(ctrd)
      const sock = await ctrd.start(containerd, ctr, join(host, 'containerd'))
      await run(ctr, ['-a', sock, 'content', 'fetch', '--hosts-dir', certs, '--plain-http', ref])
      // containerd verified every digest on ingest; read them back all the same
      for (const b of blobs()) {
        assert.equal(await sha256Stdout(ctr, ['-a', sock, 'content', 'get', b.digest]), b.digest, `host ${i} holds ${b.digest}`)
      }
    }
    for (const b of blobs()) {
      assert.equal(counter.blobGets(b.digest).length, 1, `${b.digest} GETs at the registry: ${JSON.stringify(counter.blobGets(b.digest))}`)
      assert.ok(counter.blobBytes(b.digest) <= b.size + 3, `${b.digest}: ${counter.blobBytes(b.digest)} bytes from the registry for ${b.size}`)
    }
    // every blob request containerd made went through the mirror, none straight to the registry
    assert.equal(counter.log.filter((r) => r.path.includes('/blobs/') && r.method === 'GET' && r.ns != null).length, 0)
    const second = await fetchJson<any[]>(`${f.lab.endpoints!.peers[1].api}/api/v1/tasks`)
    const layerTasks = second.filter((t) => t.contentLength > 1024 * 1024)
    assert.equal(layerTasks.length, image.layers.length)
    for (const t of layerTasks) {
      assert.equal(t.bytesFromOrigin, 0)
      assert.equal(t.bytesFromPeers + t.bytesFromSeed, t.contentLength, 'the second pull\'s layers came from the swarm')
    }
  })

  it('should copy the image with skopeo through a peer proxy configured as a registries.conf mirror', async function () {
    const conf = join(f.dir, 'registries.conf')
    const proxyHost = f.lab.endpoints!.peers[0].proxy!.slice('http://'.length)
    await writeFile(conf, [
      '[[registry]]',
      `location = "${counter.host}"`,
      'insecure = true',
      '[[registry.mirror]]',
      `location = "${proxyHost}"`,
      'insecure = true',
      ''
    ].join('\n'))
    const before = new Map(blobs().map((b) => [b.digest, counter.blobGets(b.digest).length]))
    const out = join(f.dir, 'skopeo-out')
    await run(bins.skopeo, ['--registries-conf', conf, 'copy', '--insecure-policy', '--src-tls-verify=false', `docker://${counter.host}/test/img:v1`, `oci:${out}:v1`])
    for (const b of blobs()) {
      assert.equal(await sha256File(join(out, 'blobs', 'sha256', b.digest.slice(7))), b.digest.slice(7))
      const gets = counter.blobGets(b.digest).length
      // 0 new when containerd's pulls already brought the blob into the swarm, else the seed's one fetch
      assert.ok(gets - (before.get(b.digest) ?? 0) <= (before.get(b.digest) === 0 ? 1 : 0), `${b.digest}: ${gets} registry GETs: ${JSON.stringify(counter.blobGets(b.digest))}`)
    }
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'))
    assert.equal(index.manifests[0].digest, image.manifest.digest)
  })

  it('should answer HEAD, resumed Range and unknown-blob requests the way a registry does', async () => {
    const proxy = f.lab.endpoints!.peers[1].proxy!
    const layer = image.layers[0]
    const head = await fetch(`${proxy}/v2/test/img/manifests/v1?ns=${counter.host}`, { method: 'HEAD', headers: { accept: image.manifest.mediaType } })
    assert.equal(head.status, 200)
    assert.equal(head.headers.get('docker-content-digest'), image.manifest.digest)
    // what containerd sends when it resumes a layer; the header form of naming the registry
    const resumed = await fetch(`${proxy}/v2/test/img/blobs/${layer.digest}`, { headers: { range: 'bytes=1000000-', 'x-dragonfly-registry': counter.url } })
    assert.equal(resumed.status, 206)
    assert.equal(resumed.headers.get('content-range'), `bytes 1000000-${layer.size - 1}/${layer.size}`)
    assert.equal(resumed.headers.get('docker-content-digest'), layer.digest)
    const whole = await readFile(join(image.dir, 'blobs', 'sha256', layer.digest.slice(7)))
    assert.ok(Buffer.from(await resumed.arrayBuffer()).equals(whole.subarray(1_000_000)))
    const unknown = await fetch(`${proxy}/v2/test/img/blobs/sha256:${'0'.repeat(64)}?ns=${counter.host}`)
    assert.equal(unknown.status, 404)
    assert.match(await unknown.text(), /BLOB_UNKNOWN/)
    const anonymous = await fetch(`${proxy}/v2/test/img/manifests/v1`, { headers: { accept: image.manifest.mediaType } })
    assert.equal(anonymous.status, 200, 'with no registry named, the peer\'s --registry-mirror answers')
  })
})
