import { hostname } from 'node:os'
import { PeerEngine, type PeerEngineInit } from '@damselfly/task-engine'
import { buildLocalApi } from './local-api.js'
import { buildMetrics } from './metrics.js'
import { createProxy, type ProxyInit, type ProxyServer } from '@damselfly/proxy'
import type { FastifyInstance } from 'fastify'

export interface DaemonInit extends PeerEngineInit {
  /** local API for `damselfly get` @default { host: '127.0.0.1', port: 65002 } */
  api?: { host?: string, port?: number }
  /** Prometheus metrics @default { host: '127.0.0.1', port: 65003 } */
  metrics?: { host?: string, port?: number }
  /** HTTP proxy for containerd, Hugging Face clients and HTTP_PROXY users; none when omitted */
  proxy?: ProxyInit
}

export interface DaemonEndpoints {
  id: string
  addrs: string[]
  api: string
  metrics: string
  /** the HTTP proxy's URL, null when this daemon runs none */
  proxy: string | null
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
  private proxy?: ProxyServer
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
    if (this.init.proxy != null) {
      this.proxy = createProxy({ engine: this.engine, log: this.engine.log.child({ component: 'proxy' }) }, this.init.proxy)
      await this.proxy.start()
    }
    this.endpoints = {
      id: this.engine.peerId,
      addrs: this.engine.addrs,
      api,
      metrics: `${metrics}/metrics`,
      proxy: this.proxy?.url ?? null,
      pool: this.init.labels?.pool ?? 'default',
      seed: this.init.seed === true,
      dataDir: this.init.dataDir,
      pid: process.pid
    }
    return this.endpoints
  }

  async stop (): Promise<void> {
    await this.proxy?.stop()
    await this.api?.close()
    await this.metricsApp?.close()
    await this.engine.stop()
  }
}
