import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { request } from 'undici'
import { withLab } from '../helpers/fixtures.js'
import { getVia } from '@damselfly/cli'
import { fetchJson, waitFor } from '@damselfly/testkit'
import { buildOciImage, type OciImage } from '../helpers/oci-image.js'
import { Registry } from '../helpers/origin-registry.js'
import { clientOrSkip, run } from '../helpers/clients.js'

describe('preheat of an OCI image reference', function () {
  this.timeout(240_000)
  let registry: Registry
  let regHost: string
  let image: OciImage
  let skopeo: string

  // registered ahead of the fixture: without the registry and skopeo its setup is skipped too
  before(async function () {
    await clientOrSkip(this, 'docker-registry')
    skopeo = await clientOrSkip(this, 'skopeo')
  })
  after(async () => { await registry?.stop() })
  const f = withLab({
    name: 'preheat-oci',
    lab: async ({ dir }) => {
      registry = new Registry({ dir: join(dir, 'registry') })
      await registry.start()
      regHost = registry.url.slice('http://'.length)
      image = await buildOciImage(join(dir, 'layout'), 'v1', [6 * 1024 * 1024 + 11, 3 * 1024 * 1024 + 3])
      await run(skopeo, ['copy', '--insecure-policy', '--dest-tls-verify=false', `oci:${image.dir}:v1`, `docker://${regHost}/test/img:v1`])
      return { peers: 2, pools: ['edge-a', 'edge-b'] }
    }
  })

  it('should fetch every layer and the config into the seed and a peer of the named pool', async () => {
    const eps = f.lab.endpoints!
    // daemons register with the scheduler just after they report ready
    await waitFor('three registered daemons', async () => (await fetchJson<unknown[]>(`${eps.scheduler.url}/api/v1/peers`)).length >= 3, 10_000)
    const res = await request(`${eps.scheduler.url}/api/v1/preheat`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${eps.scheduler.adminToken}` }, body: JSON.stringify({ url: `oci://${regHost}/test/img:v1`, pools: ['edge-b'] })
    })
    const job = await res.body.json() as { id: string, tasks: Array<{ taskId: string, path: string }>, peers: string[] }
    assert.equal(res.statusCode, 202, JSON.stringify(job) + JSON.stringify(await fetchJson(`${eps.scheduler.url}/api/v1/peers`)))
    const want = [image.config, ...image.layers].map((b) => b.digest.replace(':', '-')).sort()
    assert.deepEqual(job.tasks.map((t) => t.path).sort(), want)
    const status = await waitFor('the preheat job to end', async () => {
      const s = await fetchJson<any>(`${eps.scheduler.url}/api/v1/preheat/${job.id}`)
      return s.state !== 'running' && s
    }, 30_000, 100)
    assert.equal(status.state, 'succeeded', JSON.stringify(status))
    const peer = eps.peers.find((p) => p.id === job.peers[0])!
    assert.equal(peer.pool, 'edge-b')

    // with the registry gone, the preheated peer still serves every blob, verified against its digest
    await registry.stop()
    for (const b of [image.config, ...image.layers]) {
      const out = join(f.dir, b.digest.replace(':', '-'))
      const r = await getVia(peer, `oci://${regHost}/test/img/blobs/${b.digest}`, out)
      assert.equal(r.ok, true, JSON.stringify(r))
      assert.equal(`sha256:${createHash('sha256').update(await readFile(out)).digest('hex')}`, b.digest)
    }
  })
})
