import assert from 'node:assert/strict'
import { join } from 'node:path'
import { request } from 'undici'
import { taskIdFor, initBlake3 } from '@damselfly/utils'
import { startOrigin, writeRandomFile, sha256File } from '@damselfly/testkit'
import { withLab } from '../helpers/fixtures.js'
import { getVia } from '@damselfly/cli'
import { fetchJson, waitFor } from '@damselfly/testkit'
import { ownerOf } from '@damselfly/scheduler-client'

describe('preheat and several schedulers', function () {
  this.timeout(240_000)
  const files = ['a.bin', 'b.bin', 'c.bin', 'd.bin']
  before(async () => { await initBlake3() })
  const f = withLab({
    name: 'scale',
    files: Object.fromEntries(files.map((name, i) => [name, 6 * 1024 * 1024 + i])),
    lab: { peers: 4, schedulers: 2, pools: ['edge-a', 'edge-b'] }
  })

  it('should place each task on exactly one scheduler and still verify every download', async () => {
    const eps = f.lab.endpoints!
    for (const name of files) {
      const results = await Promise.all(eps.peers.map(async (p, i) => await getVia(p, f.url(name), join(f.dir, `${name}.${i}`))))
      for (const r of results) assert.equal(r.ok, true, JSON.stringify(r))
      for (let i = 0; i < eps.peers.length; i++) assert.equal(await sha256File(join(f.dir, `${name}.${i}`)), f.sha[name])
    }
    const perScheduler = await Promise.all(eps.schedulers.map(async (s) => await fetchJson<Array<{ id: string, url: string }>>(`${s.url}/api/v1/tasks`)))
    const owners = new Map<string, number>()
    for (const [i, tasks] of perScheduler.entries()) for (const t of tasks) { assert.equal(owners.has(t.id), false, `task ${t.id} on two schedulers`); owners.set(t.id, i) }
    assert.equal(owners.size, files.length)
    // each task sits where rendezvous hashing over the live schedulers puts it
    const urls = eps.schedulers.map((s) => s.url)
    for (const [taskId, i] of owners) assert.equal(urls[i], ownerOf(urls, taskId))
    // every peer keeps a session with every scheduler
    for (const s of eps.schedulers) assert.equal((await fetchJson<unknown[]>(`${s.url}/api/v1/peers`)).length, eps.peers.length + 1)
    // each file crossed from the origin once
    const served = f.origin.requestLog.filter((r) => r.range !== 'bytes=0-0').length
    assert.equal(served, files.length)
  })

  it('should preheat a URL into the seed and one peer per named pool', async () => {
    await writeRandomFile(join(f.dir, 'hot.bin'), 5 * 1024 * 1024)
    const o2 = await startOrigin({ files: { '/hot.bin': join(f.dir, 'hot.bin') } })
    try {
      const eps = f.lab.endpoints!
      const url = `${o2.url}/hot.bin`
      // preheat goes to the task's owner, as peers' announcements will
      const taskId = taskIdFor({ url })
      const owner = ownerOf(eps.schedulers.map((s) => s.url), taskId)
      const res = await request(`${owner}/api/v1/preheat`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${eps.scheduler.adminToken}` }, body: JSON.stringify({ url, pools: ['edge-b'] }) })
      assert.equal(res.statusCode, 202)
      const job = await res.body.json() as { id: string, taskId: string, peers: string[] }
      assert.equal(job.peers.length, 1)
      const poolB = eps.peers.filter((p) => p.pool === 'edge-b').map((p) => p.id)
      assert.ok(poolB.includes(job.peers[0]), 'the preheated peer is in edge-b')
      const status = await waitFor('the preheat job to end', async () => {
        const s = await fetchJson<any>(`${owner}/api/v1/preheat/${job.id}`)
        return (s.state === 'succeeded' || s.state === 'failed') && s
      }, 20_000, 100)
      assert.equal(status.state, 'succeeded', JSON.stringify(status))
      assert.equal(status.peers[0].done, true)
      const originBytes = o2.bytesServed
      assert.ok(originBytes >= 5 * 1024 * 1024)
      // the preheated peer now answers a local request without the origin
      const peer = eps.peers.find((p) => p.id === job.peers[0])!
      const r = await getVia(peer, url, join(f.dir, 'hot.out'))
      assert.equal(r.ok, true)
      assert.equal(r.bytesFromOrigin + r.bytesFromPeers + r.bytesFromSeed, 0, 'served from its own store')
      assert.equal(o2.bytesServed, originBytes)
      assert.equal(await sha256File(join(f.dir, 'hot.out')), await sha256File(join(f.dir, 'hot.bin')))
    } finally {
      await o2.stop()
    }
  })
})
