import assert from 'node:assert/strict'
import { join } from 'node:path'
import { sha256File, fetchJson } from '@damselfly/testkit'
import { getVia } from '@damselfly/cli'
import { crossPoolBytes } from '@damselfly/scheduler-core'
import { withLab } from '../helpers/fixtures.js'
import { metric } from '@damselfly/testkit'
import { ByteClock, poll, within } from '../helpers/rate.js'

const MiB = 1024 * 1024
const BUDGET = 6 * MiB
const SIZE = 96 * MiB
const PIECE = 512 * 1024
const POOLS = ['edge-a', 'edge-b']

describe('limits: the scheduler\'s pool WAN budget, held by separate processes', function () {
  this.timeout(300_000)
  const log: string[] = []
  // two edge pools of two peers; the seed is in the cloud pool, so every byte into an edge pool crosses the WAN at least once
  const f = withLab({ name: 'limits-pools', files: { 'model.bin': SIZE }, lab: { peers: 4, pools: POOLS, schedulerArgs: ['--pool-wan-budget', String(BUDGET)] } })
  after(() => { if (log.length > 0) process.stdout.write(`      measured:\n${log.map((l) => `        ${l}\n`).join('')}`) })

  it('should keep the bytes each pool takes from outside it within the budget, counted by the pool\'s receiving peers', async () => {
    const eps = f.lab.endpoints!
    // what the peers of each pool received from parents outside it, by their own counters (not the limiter's)
    const clocks = new Map(POOLS.map((p) => [p, new ByteClock()]))
    const samplers = POOLS.map((pool) => {
      const members = eps.peers.filter((p) => p.pool === pool)
      return poll(clocks.get(pool)!, async () => {
        const bodies = await Promise.all(members.map(async (p) => await (await fetch(p.metrics)).text()))
        return bodies.reduce((a, b) => a + metric(b, 'damselfly_cross_pool_download_bytes_total'), 0)
      }, 200)
    })
    // everything the edge pools took from outside: the cloud pool (the seed's) is outside the budget, so each edge pool may take its own
    const all = new ByteClock()
    samplers.push(poll(all, async () => {
      const bodies = await Promise.all(eps.peers.map(async (p) => await (await fetch(p.metrics)).text()))
      return bodies.reduce((a, b) => a + metric(b, 'damselfly_cross_pool_download_bytes_total'), 0)
    }, 200))
    const outs = eps.peers.map((_, i) => join(f.dir, `out-${i}.bin`))
    const results = await Promise.all(eps.peers.map(async (p, i) => await getVia(p, f.url('model.bin'), outs[i], ['--piece-length', String(PIECE)])))
    for (const s of samplers) await s.stop()
    const sha = f.sha['model.bin']
    for (const [i, r] of results.entries()) {
      assert.equal(r.ok, true, JSON.stringify(r))
      assert.equal(await sha256File(outs[i]), sha)
    }
    // the scheduler agrees on what crossed (from the peers' piece reports)
    const tasks = await fetchJson<Array<{ bytesByEdge: Record<string, number> }>>(`${eps.scheduler.url}/api/v1/tasks`)
    for (const pool of POOLS) {
      const clock = clocks.get(pool)!
      const crossed = crossPoolBytes(Object.entries(tasks[0].bytesByEdge), pool)
      assert.ok(clock.bytes >= SIZE, `${pool} took ${clock.bytes} bytes from outside, less than one copy`)
      // from the first cross-pool bytes (one second in, past the first pieces asked for at once) to the last
      const whole = clock.rate(clock.samples[1].t + 1000)
      log.push(within(`${pool}: WAN in over the whole transfer, ${(clock.bytes / MiB).toFixed(0)} MiB (scheduler: ${(crossed / MiB).toFixed(0)} MiB)`, whole, BUDGET, 1) +
        `; budget ${(BUDGET / MiB).toFixed(0)} MiB/s`)
      assert.ok(whole.seconds >= 10, `${pool}: measured over ${whole.seconds} s, less than 10 s`)
      assert.ok(whole.rate <= BUDGET * 1.05, `${pool}: ${(whole.rate / MiB).toFixed(3)} MiB/s into the pool over ${whole.seconds.toFixed(1)} s, above the budget + 5%`)
      // and no 10 s stretch of it above the budget + 5%
      let worst = { rate: 0, seconds: 0, bytes: 0 }
      for (const s of clock.samples) {
        if (s.t < clock.samples[1].t + 1000 || s.t + 10_000 > clock.lastAt) continue
        const m = clock.rate(s.t, s.t + 10_000)
        if (m.rate > worst.rate) worst = m
      }
      if (worst.seconds > 0) {
        log.push(`${pool}: busiest 10 s window ${(worst.rate / MiB).toFixed(3)} MiB/s over ${worst.seconds.toFixed(1)} s`)
        assert.ok(worst.rate <= BUDGET * 1.05, `${pool}: ${(worst.rate / MiB).toFixed(3)} MiB/s over a 10 s window, above the budget + 5%`)
      }
    }
    // the seed's pool is not budgeted: the edge pools do not share one budget between them
    const out = all.rate(all.samples[1].t + 1000)
    log.push(within('cloud: WAN out (into both edge pools), counted by the receiving peers', out, BUDGET, 1))
    assert.ok(out.rate > BUDGET * 1.2, `${(out.rate / MiB).toFixed(3)} MiB/s out of the cloud pool: the edge pools were held to one budget between them`)
    // each peer was told its share, and waited on it
    const bodies = await Promise.all(eps.peers.map(async (p) => await (await fetch(p.metrics)).text()))
    const shares = bodies.map((b) => metric(b, 'damselfly_rate_limit_bytes_per_second', 'direction="cross_pool"'))
    assert.ok(shares.every((s) => s > 0 && s <= BUDGET), `shares ${shares.join(', ')}`)
    const waited = bodies.reduce((a, b) => a + metric(b, 'damselfly_rate_limit_wait_seconds_total', 'direction="cross_pool"'), 0)
    assert.ok(waited > 0, 'no peer waited on its WAN share')
    log.push(`shares at the end: ${shares.map((s) => (s / MiB).toFixed(2)).join(', ')} MiB/s; peers waited ${waited.toFixed(1)} s on them`)
  })
})
