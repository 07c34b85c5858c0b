import { hostname } from 'node:os'
import { PeerEngine, type PeerEngineInit } from '@damselfly/task-engine'
import { CacheGc } from '@damselfly/storage'
import { buildLocalApi } from './local-api.js'
import { ensureApiToken } from './api-token.js'
import { buildMetrics, type DaemonMetrics, type ProxyResult } from './metrics.js'
import { join } from 'node:path'
import { createProxy, CA_CERT_FILE, type ProxyInit, type ProxyServer } from '@damselfly/proxy'
import type { FastifyInstance } from 'fastify'

export interface DaemonGcInit {
  /** bytes of pieces this daemon may keep; 0 = unlimited @default 0 */
  quotaBytes?: number
  /** @default 0.9 */
  highWatermark?: number
  /** @default 0.7 */
  lowWatermark?: number
  /** 0 = never expire @default 0 */
  ttlMs?: number
  /** @default 60000 */
  intervalMs?: number
  /** a task touched this recently is in use @default 30000 */
  activeWindowMs?: number
}

export interface DaemonInit extends PeerEngineInit {
  /**
   * local API for `damselfly get` @default { host: '127.0.0.1', port: 65002 }; `token` defaults
   * to the one kept in `<dataDir>/api-token` (made at first start); `exportRoots`: where it may
   * write outputs (none by default: clients then write their outputs themselves)
   */
  api?: { host?: string, port?: number, token?: string, exportRoots?: string[] }
  /** Prometheus metrics @default { host: '127.0.0.1', port: 65003 } */
  metrics?: { host?: string, port?: number }
  /** cache quota and expiry */
  gc?: DaemonGcInit
  /** HTTP proxy for containerd, Hugging Face clients and HTTP_PROXY users; none when omitted */
  proxy?: ProxyInit
}

export interface DaemonEndpoints {
  id: string
  addrs: string[]
  /** data channel port (null: pieces over libp2p only) */
  dataPort: number | null
  api: string
  metrics: string
  /** the HTTP proxy's URL, null when this daemon runs none */
  proxy: string | null
  /** the CA certificate (PEM file) clients trust for intercepted HTTPS hosts; null without interception */
  caCert: string | null
  pool: string
  seed: boolean
  dataDir: string
  pid: number
}

/** A peer or seed peer daemon: the engine plus its local API, metrics endpoints and cache GC. */
export class Daemon {
  readonly engine: PeerEngine
  readonly gc: CacheGc
  private api?: FastifyInstance
  private metrics?: DaemonMetrics
  private proxy?: ProxyServer
  endpoints?: DaemonEndpoints

  constructor (readonly init: DaemonInit) {
    this.engine = new PeerEngine({ ...init, labels: { hostname: hostname(), ...init.labels } })
    this.gc = new CacheGc({
      store: this.engine.store,
      quotaBytes: init.gc?.quotaBytes,
      highWatermark: init.gc?.highWatermark,
      lowWatermark: init.gc?.lowWatermark,
      ttlMs: init.gc?.ttlMs,
      intervalMs: init.gc?.intervalMs,
      activeWindowMs: init.gc?.activeWindowMs,
      inUse: (taskId) => this.engine.isDownloading(taskId),
      onEvict: (taskId) => { this.engine.forget(taskId) },
      log: init.log
    })
  }

  private get isSeed (): boolean { return this.init.seeder != null }

  /** Counter hook for the proxy: call once per request it handled. */
  countProxyRequest (result: ProxyResult, method?: string): void {
    this.metrics?.countProxyRequest(result, method)
  }

  async start (): Promise<DaemonEndpoints> {
    await this.engine.start()
    const ready = (): boolean => this.engine.scheduler == null || this.engine.scheduler.connected
    const info = (): Record<string, unknown> => ({ ...this.endpoints, scheduler: this.engine.scheduler?.connected ?? null, cache: { ...this.gc.usage, quota: this.gc.quotaBytes } })
    const token = this.init.api?.token ?? await ensureApiToken(this.init.dataDir)
    this.api = buildLocalApi(this.engine, info, { token, exportRoots: this.init.api?.exportRoots })
    const api = await this.api.listen({ host: this.init.api?.host ?? '127.0.0.1', port: this.init.api?.port ?? 65002 })
    this.metrics = buildMetrics(this.engine, this.isSeed ? 'seed-peer' : 'peer', { gc: this.gc, ready })
    const metrics = await this.metrics.app.listen({ host: this.init.metrics?.host ?? '127.0.0.1', port: this.init.metrics?.port ?? 65003 })
    if (this.init.proxy != null) {
      // the daemon's own listeners are never proxy destinations
      const ownPorts = [api, metrics].map((u) => Number(new URL(u).port))
      if (this.engine.dataPort != null) ownPorts.push(this.engine.dataPort)
      for (const a of this.engine.addrs) { const m = /\/tcp\/(\d+)/.exec(a); if (m != null) ownPorts.push(Number(m[1])) }
      this.proxy = createProxy({
        engine: this.engine,
        log: this.engine.log.child({ component: 'proxy' }),
        onRequest: (result, method) => { this.countProxyRequest(result, method) },
        passthroughLimiters: [this.engine.limiters.download, this.engine.limiters.back_to_source]
      }, { ...this.init.proxy, ownPorts: [...ownPorts, ...(this.init.proxy.ownPorts ?? [])] })
      await this.proxy.start()
    }
    this.gc.start()
    this.endpoints = {
      id: this.engine.peerId,
      addrs: this.engine.addrs,
      dataPort: this.engine.dataPort ?? null,
      api,
      metrics: `${metrics}/metrics`,
      proxy: this.proxy?.url ?? null,
      caCert: this.proxy?.hijack != null ? (this.init.proxy?.hijackHttps?.ca?.certPath ?? join(this.init.dataDir, CA_CERT_FILE)) : null,
      pool: this.init.labels?.pool ?? 'default',
      seed: this.isSeed,
      dataDir: this.init.dataDir,
      pid: process.pid
    }
    this.init.log.info({ peer: this.endpoints.id, pool: this.endpoints.pool, api, metrics: this.endpoints.metrics }, 'daemon started')
    return this.endpoints
  }

  async stop (): Promise<void> {
    this.gc.stop()
    this.metrics?.close()
    await this.proxy?.stop()
    await this.api?.close()
    await this.metrics?.app.close()
    await this.engine.stop()
  }
}
