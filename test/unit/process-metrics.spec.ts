import assert from 'node:assert/strict'
import { setTimeout as tick } from 'node:timers/promises'
import { Registry } from 'prom-client'
import { collectProcessMetrics } from '@damselfly/utils/process-metrics'
import { metric } from '@damselfly/testkit'

const P99 = 'nodejs_eventloop_lag_p99_seconds'

/** holds the event loop for `ms`: the delay sampler's next tick comes at least that late */
function block (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) { /* busy */ }
}

describe('process metrics', () => {
  it('should keep prom-client\'s defaults, with one event-loop delay sampler that runs only while the process works', async () => {
    const registry = new Registry()
    const m = collectProcessMetrics(registry, { idleAfterMs: 20 })
    try {
      const names = registry.getMetricsAsArray().map((x) => x.name)
      for (const name of ['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds', 'nodejs_eventloop_lag_seconds', P99, 'nodejs_eventloop_lag_max_seconds']) {
        assert.equal(names.filter((n) => n === name).length, 1, name)
      }

      // idle: nothing sampled, nothing to report
      assert.equal(m.sampling, false)
      block(30)
      await tick(1)
      assert.equal(metric(await registry.metrics(), P99), 0)

      // working: a stall of the loop shows in the percentiles (the sampler's first tick after it
      // starts, or after a scrape, only sets its baseline)
      m.busy()
      assert.equal(m.sampling, true)
      let p99 = 0
      for (let i = 0; i < 60 && p99 === 0; i++) {
        m.busy()
        block(30)
        await tick(1)
        if (i % 3 === 2) p99 = metric(await registry.metrics(), P99)
      }
      assert.ok(p99 >= 0.03, `p99 ${p99} s after 30 ms stalls`)

      // quiet again: the sampler stops by itself, and the next window reads 0
      for (let i = 0; i < 100 && m.sampling; i++) await tick(20)
      assert.equal(m.sampling, false)
      assert.equal(metric(await registry.metrics(), P99), 0)
    } finally {
      m.close()
    }
  })
})
