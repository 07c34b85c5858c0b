import Fastify, { type FastifyInstance } from 'fastify'
import { Registry, Gauge, Counter, Histogram } from 'prom-client'
import { NO_SCHEMA_COMPILERS } from '@damselfly/utils'
import { collectProcessMetrics } from '@damselfly/utils/process-metrics'
import type { PeerEngine } from '@damselfly/task-engine'
import type { CacheGc } from '@damselfly/storage'

/** Outcome labels of `damselfly_proxy_requests_total`, for the proxy to count with. */
export type ProxyResult = 'p2p' | 'direct' | 'error'

export interface MetricsInit {
  /** the cache GC, whose usage is this daemon's own disk footprint */
  gc?: CacheGc
  /** readiness shared with the local API's /readyz */
  ready?: () => boolean
  /** window of the upload/download rate gauges @default 10000 */
  rateWindowMs?: number
}

export interface DaemonMetrics {
  registry: Registry
  app: FastifyInstance
  /**
   * Hook for the proxy (packages/proxy): one call per request it handled,
   * labelled by how it was served.
   */
  countProxyRequest: (result: ProxyResult, method?: string) => void
  /** stops the rate sampler */
  close: () => void
}

export const PIECE_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/**
 * Prometheus metrics of one daemon, read from the engine's counters at scrape time. Totals are
 * typed COUNTER (what `rate()` expects of a `*_total`), each set at scrape by reset + inc.
 */
export function buildMetrics (engine: PeerEngine, role: string, init: MetricsInit = {}): DaemonMetrics {
  const registry = new Registry()
  registry.setDefaultLabels({ role })
  const processMetrics = collectProcessMetrics(registry)
  engine.on('work', processMetrics.busy)
  new Counter({
    name: 'damselfly_download_bytes_total',
    help: 'Bytes received by this daemon since start, by source (origin, seed, peer)',
    labelNames: ['source'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [source, n] of Object.entries(engine.received)) this.inc({ source }, n)
    }
  })
  new Counter({
    name: 'damselfly_upload_bytes_total',
    help: 'Bytes of pieces served to other peers since start',
    registers: [registry],
    collect () { this.reset(); this.inc(engine.uploaded) }
  })
  new Counter({
    name: 'damselfly_piece_cache_lookups_total',
    help: 'Uploads that looked for their piece in memory, by result (hit: no disk read)',
    labelNames: ['result'],
    registers: [registry],
    collect () {
      this.reset()
      this.inc({ result: 'hit' }, engine.pieceCache.hits)
      this.inc({ result: 'miss' }, engine.pieceCache.misses)
    }
  })
  new Gauge({
    name: 'damselfly_piece_cache_bytes',
    help: 'Piece bytes held in memory for uploads',
    registers: [registry],
    collect () { this.set(engine.pieceCache.heldBytes) }
  })
  new Counter({
    name: 'damselfly_upload_transport_bytes_total',
    help: 'Bytes of pieces served since start, by transport (tls or tcp data channel, libp2p stream)',
    labelNames: ['transport'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [transport, n] of Object.entries(engine.uploadedByTransport)) this.inc({ transport }, n)
    }
  })
  new Counter({
    name: 'damselfly_data_channels_opened_total',
    help: 'Data channels opened to parents, by where the ticket came from (scheduler: straight to the data port; parent: asked over a libp2p connection)',
    labelNames: ['ticket'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [ticket, n] of Object.entries(engine.dataChannelsOpened)) this.inc({ ticket }, n)
    }
  })
  new Gauge({
    name: 'damselfly_active_tasks',
    help: 'Downloads in progress',
    registers: [registry],
    collect () { this.set(engine.taskStats().filter((s) => s.state === 'running').length) }
  })
  new Gauge({
    name: 'damselfly_connected_peers',
    help: 'libp2p connections open to other peers, seed peers and the scheduler',
    registers: [registry],
    collect () { this.set(engine.node?.getConnections().length ?? 0) }
  })
  const recentPeers = new Map<string, number>()
  engine.on('upload', (_task, peer) => { recentPeers.set(peer, Date.now()) })
  new Gauge({
    name: 'damselfly_active_upload_peers',
    help: 'Distinct peers this daemon served a piece to in the last minute',
    registers: [registry],
    collect () {
      const cutoff = Date.now() - 60_000
      for (const [p, t] of recentPeers) if (t < cutoff) recentPeers.delete(p)
      this.set(recentPeers.size)
    }
  })
  const latency = new Histogram({
    name: 'damselfly_piece_download_seconds',
    help: 'Time to fetch, verify and store one piece from a parent, by parent kind (seed, peer)',
    labelNames: ['source'],
    buckets: PIECE_LATENCY_BUCKETS,
    registers: [registry]
  })
  latency.zero({ source: 'seed' })
  latency.zero({ source: 'peer' })
  engine.on('piece', (source, _bytes, ms) => { latency.observe({ source }, ms / 1000) })

  // rates as gauges too, so the dashboard and `curl` show them without PromQL
  const windowMs = init.rateWindowMs ?? 10_000
  const samples: Array<{ t: number, down: number, up: number }> = []
  const sample = (): void => {
    const r = engine.received
    samples.push({ t: Date.now(), down: r.origin + r.seed + r.peer, up: engine.uploaded })
    while (samples.length > 2 && samples[0].t < Date.now() - windowMs) samples.shift()
  }
  // a sample a second while the daemon works; none at rest, where each wake-up is what idle costs
  let sampler: NodeJS.Timeout | undefined
  const stopSampling = (): void => { clearInterval(sampler); sampler = undefined }
  const startSampling = (): void => {
    if (sampler != null) return
    sample()
    sampler = setInterval(() => {
      sample()
      if (!processMetrics.sampling) stopSampling()
    }, 1000)
    sampler.unref()
  }
  sample()
  engine.on('work', startSampling)
  const rate = (key: 'down' | 'up'): number => {
    sample()
    const first = samples[0]
    const last = samples[samples.length - 1]
    const dt = (last.t - first.t) / 1000
    return dt > 0 ? (last[key] - first[key]) / dt : 0
  }
  new Gauge({
    name: 'damselfly_download_rate_bytes_per_second',
    help: `Bytes per second received over the last ${windowMs / 1000} s`,
    registers: [registry],
    collect () { this.set(rate('down')) }
  })
  new Gauge({
    name: 'damselfly_upload_rate_bytes_per_second',
    help: `Bytes per second served to other peers over the last ${windowMs / 1000} s`,
    registers: [registry],
    collect () { this.set(rate('up')) }
  })

  // bandwidth limits: what each is set to, what passes through it now, how long transfers waited on it
  const limitOf = { upload: 'uploadRate', download: 'downloadRate', back_to_source: 'backToSourceRate' } as const
  new Gauge({
    name: 'damselfly_rate_limit_bytes_per_second',
    help: 'Limit by direction (upload, download, back_to_source as configured; cross_pool: this peer\'s share of its pool WAN budget, from the scheduler; 0 = unlimited)',
    labelNames: ['direction'],
    registers: [registry],
    collect () {
      const limits = engine.limits
      for (const [direction, key] of Object.entries(limitOf)) this.set({ direction }, limits[key])
      this.set({ direction: 'cross_pool' }, engine.limiters.cross_pool.rate)
    }
  })
  new Counter({
    name: 'damselfly_cross_pool_download_bytes_total',
    help: 'Piece bytes received from parents outside this peer\'s node pool (across the WAN)',
    registers: [registry],
    collect () { this.reset(); this.inc(engine.receivedCrossPool) }
  })
  new Gauge({
    name: 'damselfly_rate_current_bytes_per_second',
    help: 'Bytes per second passing each direction\'s limiter over the last 5 s (counted also when unlimited)',
    labelNames: ['direction'],
    registers: [registry],
    collect () {
      for (const [direction, n] of Object.entries(engine.currentRates())) this.set({ direction }, n)
    }
  })
  new Counter({
    name: 'damselfly_rate_limit_wait_seconds_total',
    help: 'Seconds transfers spent waiting for tokens, by limiter (upload, download, back_to_source, cross_pool: the pool WAN budget share, task: per-task and per-request limits)',
    labelNames: ['direction'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [direction, n] of Object.entries(engine.limitWaitSeconds())) this.inc({ direction }, n)
    }
  })
  new Counter({
    name: 'damselfly_back_to_source_slot_wait_seconds_total',
    help: 'Seconds origin requests waited for a slot of the back-to-source concurrency',
    registers: [registry],
    collect () { this.reset(); this.inc(engine.sourceSlotWaitSeconds) }
  })
  new Gauge({
    name: 'damselfly_back_to_source_requests',
    help: 'Origin requests running (running) and waiting for a back-to-source slot (waiting)',
    labelNames: ['state'],
    registers: [registry],
    collect () {
      const q = engine.sourceQueueStats
      this.set({ state: 'running' }, q.running)
      this.set({ state: 'waiting' }, q.waiting)
    }
  })

  const gc = init.gc
  if (gc != null) {
    new Gauge({
      name: 'damselfly_cache_bytes',
      help: 'Bytes of verified pieces this daemon keeps on disk (its own cache, not the whole disk)',
      registers: [registry],
      async collect () { this.set((await gc.refresh()).bytes) }
    })
    new Gauge({
      name: 'damselfly_cache_tasks',
      help: 'Tasks held in this daemon\'s cache',
      registers: [registry],
      async collect () { this.set((await gc.refresh()).tasks) }
    })
    new Gauge({
      name: 'damselfly_cache_quota_bytes',
      help: 'Cache quota (0 = unlimited)',
      registers: [registry],
      collect () { this.set(gc.quotaBytes) }
    })
    new Counter({
      name: 'damselfly_cache_gc_runs_total',
      help: 'Cache GC passes finished since start',
      registers: [registry],
      collect () { this.reset(); this.inc(gc.runs) }
    })
    new Counter({
      name: 'damselfly_cache_evictions_total',
      help: 'Tasks removed by the cache GC since start',
      registers: [registry],
      collect () { this.reset(); this.inc(gc.evictions) }
    })
    new Counter({
      name: 'damselfly_cache_evicted_bytes_total',
      help: 'Bytes removed by the cache GC since start',
      registers: [registry],
      collect () { this.reset(); this.inc(gc.bytesEvicted) }
    })
  }

  const proxy = new Counter({
    name: 'damselfly_proxy_requests_total',
    help: 'Requests handled by the proxy, by how they were served (p2p, direct, error)',
    labelNames: ['result', 'method'],
    registers: [registry]
  })
  // zero series exist from the start, so rate() works before the first request
  for (const result of ['p2p', 'direct', 'error']) proxy.inc({ result, method: 'GET' }, 0)

  const app = Fastify({ logger: false, schemaController: NO_SCHEMA_COMPILERS })
  app.get('/metrics', async (_req, reply) => {
    return await reply.type(registry.contentType).send(await registry.metrics())
  })
  app.get('/healthz', async () => ({ ok: true }))
  app.get('/readyz', async (_req, reply) => {
    const ok = init.ready?.() ?? true
    return await reply.code(ok ? 200 : 503).send({ ok })
  })
  return {
    registry,
    app,
    countProxyRequest: (result, method = 'GET') => { proxy.inc({ result, method }) },
    close: () => { stopSampling(); processMetrics.close(); engine.off('work', processMetrics.busy); engine.off('work', startSampling) }
  }
}
