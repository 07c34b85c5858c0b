// A process's default Prometheus metrics, with event-loop delay sampled only while the process
// works. Imported by path (`@damselfly/utils/process-metrics`), not from the index: `get` and the
// libraries that never serve metrics must not load prom-client.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client'

/** prom-client's delay gauges, which ours replace under the same names (dashboards and the bench read them) */
const DELAY_GAUGES = {
  min: 'nodejs_eventloop_lag_min_seconds',
  max: 'nodejs_eventloop_lag_max_seconds',
  mean: 'nodejs_eventloop_lag_mean_seconds',
  stddev: 'nodejs_eventloop_lag_stddev_seconds',
  p50: 'nodejs_eventloop_lag_p50_seconds',
  p90: 'nodejs_eventloop_lag_p90_seconds',
  p99: 'nodejs_eventloop_lag_p99_seconds'
} as const

/** Longest timer period node accepts; prom-client's own sampler, which we cannot leave out, runs at it: never, in effect. */
const NEVER_MS = 2 ** 31 - 1

export interface ProcessMetricsInit {
  /** the delay sampler's period @default 10 (prom-client's default) */
  resolutionMs?: number
  /** sampling stops after this long without `busy()` @default 5000 */
  idleAfterMs?: number
}

export interface ProcessMetrics {
  /** Work is being done: sample the event loop's delay until `idleAfterMs` passes without another call. Cheap enough for every piece. */
  busy: () => void
  /** whether the delay sampler is running now */
  readonly sampling: boolean
  close: () => void
}

/**
 * prom-client's default metrics in `registry`, but for event-loop delay. prom-client samples the
 * delay every 10 ms for the life of the process: with the epoll wake-ups it brings, that alone was
 * ~0.4% of a core on an idle daemon (half of its idle budget of 1%). Ours samples at the same
 * resolution, but only from `busy()` until `idleAfterMs` of quiet, so an idle daemon does not wake;
 * the percentiles are then those of the time the process worked (since the last scrape, as before),
 * not diluted by hours of idle samples. Idle since the last scrape reads 0.
 */
export function collectProcessMetrics (registry: Registry, init: ProcessMetricsInit = {}): ProcessMetrics {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: NEVER_MS })
  for (const name of Object.values(DELAY_GAUGES)) registry.removeSingleMetric(name)

  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: init.resolutionMs ?? 10 })
  const idleAfterMs = init.idleAfterMs ?? 5000
  let worked = false
  /** runs while the sampler does: sampling ⇔ check is set */
  let check: NodeJS.Timeout | undefined
  const stop = (): void => {
    if (check == null) return
    histogram.disable()
    clearInterval(check)
    check = undefined
  }
  const busy = (): void => {
    worked = true
    if (check != null) return
    histogram.enable()
    check = setInterval(() => {
      if (!worked) stop()
      worked = false
    }, idleAfterMs)
    check.unref()
  }

  // prom-client's way: the first gauge collected (registration order) reads the window for all
  // and starts the next one
  const window: Record<keyof typeof DELAY_GAUGES, number> = { min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 }
  const take = (): void => {
    const h = histogram
    const empty = h.count === 0
    const s = (ns: number): number => empty ? 0 : ns / 1e9
    Object.assign(window, { min: s(h.min), max: s(h.max), mean: s(h.mean), stddev: s(h.stddev), p50: s(h.percentile(50)), p90: s(h.percentile(90)), p99: s(h.percentile(99)) })
    h.reset()
  }
  const help = { min: 'minimum', max: 'maximum', mean: 'mean', stddev: 'standard deviation of the', p50: '50th percentile of', p90: '90th percentile of', p99: '99th percentile of' }
  for (const [key, name] of Object.entries(DELAY_GAUGES) as Array<[keyof typeof DELAY_GAUGES, string]>) {
    const first = key === 'min'
    new Gauge({
      name,
      help: `The ${help[key]} event loop delay recorded while the process worked, since the last scrape`,
      registers: [registry],
      collect () {
        if (first) take()
        this.set(window[key])
      }
    })
  }

  return {
    busy,
    get sampling () { return check != null },
    close: stop
  }
}
