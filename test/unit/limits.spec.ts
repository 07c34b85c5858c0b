import assert from 'node:assert/strict'
import { RateLimiter, parseRate } from '@damselfly/utils'
import { PoolBudget } from '@damselfly/scheduler-core'

const MiB = 1024 * 1024

describe('limits: the rate limiter, rate parsing and the pool WAN budget', () => {
  it('should read rates as bytes per second and refuse nonsense', () => {
    assert.equal(parseRate('10MiB'), 10 * MiB)
    assert.equal(parseRate('800KiB/s'), 800 * 1024)
    assert.equal(parseRate('1.5M'), 1.5 * MiB)
    assert.equal(parseRate(1048576), MiB)
    assert.equal(parseRate('0'), 0)
    assert.throws(() => parseRate('fast'))
    assert.throws(() => parseRate(-1))
  })

  it('should let an unlimited limiter through at once while counting bytes', async () => {
    const l = new RateLimiter()
    await l.take(100 * MiB)
    assert.equal(l.bytes, 100 * MiB)
    assert.equal(l.waitSeconds, 0)
  })

  it('should serve takers in order, release a waiter when the rate is raised, and drop an aborted one', async () => {
    const l = new RateLimiter(1024)
    await l.take(l.burst) // empties the bucket
    const order: string[] = []
    const ctl = new AbortController()
    const a = l.take(4096).then(() => { order.push('a') })
    const gone = l.take(4096, ctl.signal).then(() => { order.push('gone') }, (err) => { order.push(`aborted:${err.name}`) })
    const b = l.take(4096).then(() => { order.push('b') })
    assert.equal(l.waiting, 3)
    ctl.abort(new DOMException('stop', 'AbortError'))
    await gone
    // at 1 KiB/s these would wait seconds; the new rate lets them through at once
    l.setRate(1024 * MiB)
    await Promise.all([a, b])
    assert.deepEqual(order, ['aborted:AbortError', 'a', 'b'])
    assert.ok(l.waitSeconds > 0)
  })

  it('should refuse cross-pool parents while a pool is over its WAN budget, and allow them again once the window passes', () => {
    let now = 0
    const budget = new PoolBudget(10 * MiB, () => now)
    assert.equal(budget.allows('cloud', 'edge-a'), true)
    budget.add('cloud', 'edge-a', 60 * MiB) // 12 MiB/s over the 5 s window
    assert.equal(budget.allows('cloud', 'edge-a'), false, 'edge-a is over its inbound budget')
    assert.equal(budget.allows('cloud', 'edge-b'), false, 'cloud is over its outbound budget')
    assert.equal(budget.allows('edge-b', 'edge-c'), true)
    assert.equal(budget.allows('edge-a', 'edge-a'), true, 'inside a pool is never budgeted')
    budget.add('origin', 'edge-c', 100 * MiB)
    assert.equal(budget.allows('edge-b', 'edge-c'), true, 'origin bytes are not WAN between pools')
    assert.equal(budget.rates().get('edge-a')?.in, 12 * MiB)
    now += budget.retryMs + 1
    assert.equal(budget.allows('cloud', 'edge-a'), true)
  })

  it('should leave the seeds\' pool (the cloud) out of the budget: each edge pool has its own', () => {
    const budget = new PoolBudget(10 * MiB, () => 0, (pool) => pool === 'cloud')
    budget.add('cloud', 'edge-a', 60 * MiB)
    assert.equal(budget.allows('cloud', 'edge-b'), true, 'edge-b waited on what edge-a took from the cloud')
    assert.equal(budget.allows('cloud', 'edge-a'), false, 'edge-a is over its own inbound budget')
    budget.add('edge-c', 'cloud', 60 * MiB)
    assert.equal(budget.allows('edge-c', 'edge-b'), false, 'edge-c is over its outbound budget')
  })
})
