import { hostname } from 'node:os'
import { PeerEngine, type PeerEngineInit } from '@damselfly/task-engine'
import { buildLocalApi } from './local-api.js'
import { buildMetrics } from './metrics.js'
import type { FastifyInstance } from 'fastify'

export interface DaemonInit extends PeerEngineInit {
  /** local API for `damselfly get` @default { host: '127.0.0.1', port: 65002 } */
  api?: { host?: string, port?: number }
  /** Prometheus metrics @default { host: '127.0.0.1', port: 65003 } */
  metrics?: { host?: string, port?: number }
}

export interface DaemonEndpoints {
  id: string
  addrs: string[]
  api: string
  metrics: string
  pool: string
  seed: boolean
  dataDir: string
  pid: number
}

/** A peer or seed peer daemon: the engine plus its local API and metrics endpoints. */
export class Daemon {
  readonly engine: PeerEngine
  private api?: FastifyInstance
  private metricsApp?: FastifyInstance
  endpoints?: DaemonEndpoints

  constructor (readonly init: DaemonInit) {
    this.engine = new PeerEngine({ ...init, labels: { hostname: hostname(), ...init.labels } })
  }

  async start (): Promise<DaemonEndpoints> {
    await this.engine.start()
    const info = (): Record<string, unknown> => ({ ...this.endpoints, scheduler: this.engine.scheduler?.connected ?? null })
    this.api = buildLocalApi(this.engine, info)
    const api = await this.api.listen({ host: this.init.api?.host ?? '127.0.0.1', port: this.init.api?.port ?? 65002 })
    this.metricsApp = buildMetrics(this.engine, this.init.seed === true ? 'seed-peer' : 'peer').app
    const metrics = await this.metricsApp.listen({ host: this.init.metrics?.host ?? '127.0.0.1', port: this.init.metrics?.port ?? 65003 })
    this.endpoints = {
      id: this.engine.peerId,
      addrs: this.engine.addrs,
      api,
      metrics: `${metrics}/metrics`,
      pool: this.init.labels?.pool ?? 'default',
      seed: this.init.seed === true,
      dataDir: this.init.dataDir,
      pid: process.pid
    }
    return this.endpoints
  }

  async stop (): Promise<void> {
    await this.api?.close()
    await this.metricsApp?.close()
    await this.engine.stop()
  }
}
