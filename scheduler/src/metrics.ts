import { Registry, Gauge, Counter } from 'prom-client'
import { collectProcessMetrics, type ProcessMetrics } from '@damselfly/utils/process-metrics'
import type { Swarm } from '@damselfly/scheduler-core'

export interface SchedulerMetrics {
  registry: Registry
  /** the process's metrics: `busy()` on each peer message, so event-loop delay is sampled while peers talk */
  process: ProcessMetrics
  /** sessions the scheduler closed because the peer answered no heartbeat */
  silentSessions: Counter
}

/** The scheduler's Prometheus metrics, read from the swarm at scrape time (the swarm stays free of I/O). */
export function buildSchedulerMetrics (swarm: Swarm): SchedulerMetrics {
  const registry = new Registry()
  registry.setDefaultLabels({ role: 'scheduler' })
  const process = collectProcessMetrics(registry)
  new Counter({
    name: 'damselfly_scheduler_decisions_total',
    help: 'Parent plans computed since start (one per member update)',
    registers: [registry],
    collect () { this.reset(); this.inc(swarm.decisions) }
  })
  new Counter({
    name: 'damselfly_scheduler_back_to_source_total',
    help: 'Times the scheduler told a peer to fetch from the origin itself',
    registers: [registry],
    collect () { this.reset(); this.inc(swarm.backToSourceDecisions) }
  })
  new Gauge({
    name: 'damselfly_scheduler_peers',
    help: 'Registered peers by node pool and kind (seed or peer)',
    labelNames: ['pool', 'kind'],
    registers: [registry],
    collect () {
      this.reset()
      for (const p of swarm.peers.values()) this.inc({ pool: p.pool, kind: p.seed ? 'seed' : 'peer' })
    }
  })
  new Gauge({
    name: 'damselfly_scheduler_tasks',
    help: 'Known tasks by seed state (none, running, done, failed)',
    labelNames: ['seed_state'],
    registers: [registry],
    collect () {
      this.reset()
      for (const s of ['none', 'running', 'done', 'failed']) this.set({ seed_state: s }, 0)
      for (const t of swarm.tasks.values()) this.inc({ seed_state: t.seedState })
    }
  })
  new Counter({
    name: 'damselfly_scheduler_edge_bytes_total',
    help: 'Bytes peers reported receiving, by source pool ("origin" for back-to-source) and destination pool, over all tasks',
    labelNames: ['from', 'to'],
    registers: [registry],
    collect () {
      this.reset()
      for (const t of swarm.tasks.values()) {
        for (const [edge, bytes] of t.bytesByEdge) {
          const [from, to] = edge.split('>')
          this.inc({ from, to }, bytes)
        }
      }
    }
  })
  // the per-pool WAN budget: what each pool moves across pools now, against the budget
  new Gauge({
    name: 'damselfly_scheduler_pool_wan_bytes_per_second',
    help: 'Bytes per second peers reported moving across pools over the last 5 s, by pool and direction (in, out)',
    labelNames: ['pool', 'direction'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [pool, r] of swarm.poolBudget.rates()) {
        this.set({ pool, direction: 'in' }, r.in)
        this.set({ pool, direction: 'out' }, r.out)
      }
    }
  })
  new Gauge({
    name: 'damselfly_scheduler_pool_wan_budget_bytes_per_second',
    help: 'Per-pool WAN budget, each direction (0 = unlimited)',
    registers: [registry],
    collect () { this.set(swarm.poolBudget.rate) }
  })
  const silentSessions = new Counter({
    name: 'damselfly_scheduler_silent_sessions_total',
    help: 'Peer sessions closed because the peer answered no heartbeat for three intervals (its host hung or its link was cut, with no FIN or RST)',
    registers: [registry]
  })
  return { registry, process, silentSessions }
}
