import assert from 'node:assert/strict'
import { writeFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256File, fetchJson, waitFor, metric, scrape } from '@damselfly/testkit'
import { getVia } from '@damselfly/cli'
import { withLab } from '../helpers/fixtures.js'

const MIB = 1024 * 1024

async function cacheTasks (metrics: string): Promise<{ tasks: number, evictions: number, bytes: number, runs: number }> {
  const body = await scrape(metrics)
  const v = (name: string): number => metric(body, name)
  return { tasks: v('damselfly_cache_tasks'), evictions: v('damselfly_cache_evictions_total'), bytes: v('damselfly_cache_bytes'), runs: v('damselfly_cache_gc_runs_total') }
}

describe('cache GC in a running peer', function () {
  this.timeout(180_000)
  const f = withLab({
    name: 'gcint',
    files: { 'a.bin': 20 * MIB, 'b.bin': 20 * MIB },
    lab: async ({ dir }) => {
      // 30 MiB quota: two 20 MiB tasks cross the 27 MiB high watermark; the 21 MiB low one keeps one
      await writeFile(join(dir, 'peer.yaml'), 'gc:\n  quota: 30MiB\n  highWatermark: 0.9\n  lowWatermark: 0.7\n  intervalSeconds: 0.5\n  activeWindowSeconds: 1\n')
      return { peers: 1, peerArgs: ['--config', join(dir, 'peer.yaml')] }
    }
  })

  it('should evict the least recently used task over quota, then download it again on request', async () => {
    const peer = f.lab.endpoints!.peers[0]
    assert.equal((await getVia(peer, f.url('a.bin'), join(f.dir, 'a1.out'))).ok, true)
    // two whole GC passes after the download: the second one began after it had finished
    const runs = (await cacheTasks(peer.metrics)).runs
    const settled = await waitFor('two GC passes', async () => { const c = await cacheTasks(peer.metrics); return c.runs >= runs + 2 && c })
    assert.equal(settled.tasks, 1, 'one task under quota must stay')
    assert.equal(settled.evictions, 0)
    assert.equal((await getVia(peer, f.url('b.bin'), join(f.dir, 'b1.out'))).ok, true)

    const after = await waitFor('an eviction', async () => { const c = await cacheTasks(peer.metrics); return c.evictions >= 1 && c })
    assert.equal(after.tasks, 1)
    assert.equal(after.bytes, 20 * MIB)
    assert.ok(after.bytes <= 30 * MIB * 0.7)
    const tasks = await fetchJson<any[]>(`${f.lab.endpoints!.scheduler.url}/api/v1/tasks`)
    const idOf = (file: string): string => tasks.find((t) => t.url.endsWith(file)).id
    // the least recently used one went
    assert.deepEqual(await readdir(join(peer.dataDir, 'tasks')), [idOf('/b.bin')])
    // and the scheduler no longer counts this peer as holding it
    const holds = (file: string): boolean => tasks.find((t) => t.url.endsWith(file)).peers.some((m: any) => m.id === peer.id)
    assert.equal(holds('/a.bin'), false)
    assert.equal(holds('/b.bin'), true)

    // a is gone from this peer; asking again downloads it again, whole and verified
    const again = await getVia(peer, f.url('a.bin'), join(f.dir, 'a2.out'))
    assert.equal(again.ok, true, JSON.stringify(again))
    assert.ok(again.bytesFromSeed + again.bytesFromPeers + again.bytesFromOrigin >= 20 * MIB, 'the second request did not download anything')
    assert.equal(await sha256File(join(f.dir, 'a2.out')), f.sha['a.bin'])
    assert.ok((await readdir(join(peer.dataDir, 'tasks'))).includes(idOf('/a.bin')), 'a was not stored again')
  })
})
