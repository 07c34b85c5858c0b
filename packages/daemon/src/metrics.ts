import Fastify, { type FastifyInstance } from 'fastify'
import { Registry, Gauge, collectDefaultMetrics } from 'prom-client'
import type { PeerEngine } from '@damselfly/task-engine'

/** Prometheus metrics of one daemon, read from the engine's counters at scrape time. */
export function buildMetrics (engine: PeerEngine, role: string): { registry: Registry, app: FastifyInstance } {
  const registry = new Registry()
  registry.setDefaultLabels({ role })
  collectDefaultMetrics({ register: registry })
  new Gauge({
    name: 'damselfly_download_bytes_total',
    help: 'Bytes received by this daemon since start, by source (origin, seed, peer)',
    labelNames: ['source'],
    registers: [registry],
    collect () {
      for (const [source, n] of Object.entries(engine.received)) this.set({ source }, n)
    }
  })
  new Gauge({
    name: 'damselfly_upload_bytes_total',
    help: 'Bytes of pieces served to other peers since start',
    registers: [registry],
    collect () { this.set(engine.uploaded) }
  })
  new Gauge({
    name: 'damselfly_active_tasks',
    help: 'Downloads in progress',
    registers: [registry],
    collect () { this.set(engine.taskStats().filter((s) => s.state === 'running').length) }
  })
  const app = Fastify({ logger: false })
  app.get('/metrics', async (_req, reply) => {
    return await reply.type(registry.contentType).send(await registry.metrics())
  })
  app.get('/healthz', async () => ({ ok: true }))
  return { registry, app }
}
