import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { startOrigin, writeRandomFile, sha256File, type Origin } from '@damselfly/testkit'
import { startLab, type Lab } from '@damselfly/cli'
import { getVia } from '@damselfly/cli'
import { fetchJson, waitFor } from '@damselfly/testkit'

const MIB = 1024 * 1024

async function cacheTasks (metrics: string): Promise<{ tasks: number, evictions: number, bytes: number, runs: number }> {
  const body = await (await request(metrics)).body.text()
  const v = (name: string): number => Number(body.split('\n').find((l) => l.startsWith(name + '{'))?.split(' ').pop())
  return { tasks: v('damselfly_cache_tasks'), evictions: v('damselfly_cache_evictions_total'), bytes: v('damselfly_cache_bytes'), runs: v('damselfly_cache_gc_runs_total') }
}


describe('cache GC in a running peer', function () {
  this.timeout(180_000)
  let dir: string
  let origin: Origin
  let lab: Lab

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfly-gcint-'))
    await writeRandomFile(join(dir, 'a.bin'), 20 * MIB)
    await writeRandomFile(join(dir, 'b.bin'), 20 * MIB)
    origin = await startOrigin({ files: { '/a.bin': join(dir, 'a.bin'), '/b.bin': join(dir, 'b.bin') } })
    // 30 MiB quota: two 20 MiB tasks cross the 27 MiB high watermark; the 21 MiB low one keeps one
    await writeFile(join(dir, 'peer.yaml'), 'gc:\n  quota: 30MiB\n  highWatermark: 0.9\n  lowWatermark: 0.7\n  intervalSeconds: 0.5\n  activeWindowSeconds: 1\n')
    lab = await startLab({ peers: 1, dataDir: join(dir, 'lab'), peerArgs: ['--config', join(dir, 'peer.yaml')] })
  })

  after(async () => {
    await lab?.stop()
    await origin?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('should evict the least recently used task over quota, then download it again on request', async () => {
    const peer = lab.endpoints!.peers[0]
    assert.equal((await getVia(peer, `${origin.url}/a.bin`, join(dir, 'a1.out'))).ok, true)
    // two whole GC passes after the download: the second one began after it had finished
    const runs = (await cacheTasks(peer.metrics)).runs
    const settled = await waitFor('two GC passes', async () => { const c = await cacheTasks(peer.metrics); return c.runs >= runs + 2 && c })
    assert.equal(settled.tasks, 1, 'one task under quota must stay')
    assert.equal(settled.evictions, 0)
    assert.equal((await getVia(peer, `${origin.url}/b.bin`, join(dir, 'b1.out'))).ok, true)

    const after = await waitFor('an eviction', async () => { const c = await cacheTasks(peer.metrics); return c.evictions >= 1 && c })
    assert.equal(after.tasks, 1)
    assert.equal(after.bytes, 20 * MIB)
    assert.ok(after.bytes <= 30 * MIB * 0.7)
    const tasks = await fetchJson<any[]>(`${lab.endpoints!.scheduler.url}/api/v1/tasks`)
    const idOf = (file: string): string => tasks.find((t) => t.url.endsWith(file)).id
    // the least recently used one went
    assert.deepEqual(await readdir(join(peer.dataDir, 'tasks')), [idOf('/b.bin')])
    // and the scheduler no longer counts this peer as holding it
    const holds = (file: string): boolean => tasks.find((t) => t.url.endsWith(file)).peers.some((m: any) => m.id === peer.id)
    assert.equal(holds('/a.bin'), false)
    assert.equal(holds('/b.bin'), true)

    // a is gone from this peer; asking again downloads it again, whole and verified
    const again = await getVia(peer, `${origin.url}/a.bin`, join(dir, 'a2.out'))
    assert.equal(again.ok, true, JSON.stringify(again))
    assert.ok(again.bytesFromSeed + again.bytesFromPeers + again.bytesFromOrigin >= 20 * MIB, 'the second request did not download anything')
    assert.equal(await sha256File(join(dir, 'a2.out')), await sha256File(join(dir, 'a.bin')))
    assert.ok((await readdir(join(peer.dataDir, 'tasks'))).includes(idOf('/a.bin')), 'a was not stored again')
  })
})
