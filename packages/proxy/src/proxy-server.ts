import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { connect, type Socket, type AddressInfo } from 'node:net'
import { InvalidRequestError, errorInfo } from '@damselfly/types'
import { redactUrl, throttle } from '@damselfly/utils'
import { BLOB_PATH, DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_HF_ENDPOINT, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_TUNNELS, DEFAULT_PROXY_PORT, DEFAULT_RULES, HF_PREFIX, MODELSCOPE_PREFIX } from './constants.js'
import { DEFAULT_MODELSCOPE_ENDPOINT } from '@damselfly/backend'
import { DestinationPolicy } from './destination.js'
import { sendError, TASK_DROP, upstreamHeaders } from './http-headers.js'
import { HuggingFaceEndpoint } from './hugging-face.js'
import { ModelScopeEndpoint } from './modelscope.js'
import { RegistryMirror } from './registry.js'
import { serveTask, servedByP2P } from './serve-task.js'
import { Upstream, defaultPort } from './upstream.js'
import { HttpsHijack, hijackedUrl } from './hijack.js'
import type { ProxyComponents, ProxyInit } from './index.js'
import type { Duplex } from 'node:stream'

// Not `import … from 'node:http'`: the ES module facade of node:http reads every export, and its
// WebSocket getters load Node's internal undici, ~35 ms of every daemon's start-up for nothing.
const { createServer } = process.getBuiltinModule('node:http')

/**
 * The peer's HTTP proxy: one listener for containerd's registry mirror
 * (`/v2/…`), the Hugging Face (`/hf/…`) and ModelScope (`/modelscope/…`) endpoints, forward proxying
 * (absolute-form requests, `CONNECT` tunnels) and its own `/healthz`.
 */
export class ProxyServer {
  private server?: Server
  private readonly upstream: Upstream
  private readonly registry: RegistryMirror
  private readonly hf: HuggingFaceEndpoint
  private readonly modelScope: ModelScopeEndpoint
  private readonly rules: RegExp[]
  private readonly tunnels = new Set<Socket>()
  /** where forward requests, tunnels and upstream requests may go */
  readonly policy: DestinationPolicy
  /** HTTPS interception for the hosts listed in `hijackHttps` */
  readonly hijack?: HttpsHijack
  url = ''

  constructor (private readonly c: ProxyComponents, private readonly init: ProxyInit = {}) {
    // the upstreams the operator configured are destinations by definition
    const configured = [init.registry?.mirror, init.huggingFace?.endpoint ?? DEFAULT_HF_ENDPOINT, init.modelScope?.endpoint ?? DEFAULT_MODELSCOPE_ENDPOINT]
      .filter((u): u is string => u != null && u !== '')
      .map((u) => { const x = new URL(u); return `${x.hostname.includes(':') ? `[${x.hostname.replace(/^\[|\]$/g, '')}]` : x.hostname}:${defaultPort(x)}` })
    this.policy = new DestinationPolicy({ allow: [...(init.allow ?? []), ...configured], ownPorts: init.ownPorts })
    this.upstream = new Upstream(init.upstream, this.policy, c.passthroughLimiters)
    const parts = { ...c, upstream: this.upstream }
    this.registry = new RegistryMirror(parts, init.registry)
    this.hf = new HuggingFaceEndpoint(parts, init.huggingFace)
    this.modelScope = new ModelScopeEndpoint(parts, init.modelScope)
    this.rules = (init.rules ?? DEFAULT_RULES).map((r) => new RegExp(r))
    if ((init.hijackHttps?.hosts.length ?? 0) > 0) this.hijack = new HttpsHijack(c, init.hijackHttps!)
  }

  async start (): Promise<void> {
    await this.hijack?.start()
    const server = createServer((req, res) => { this.route(req, res) })
    server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => { this.tunnel(req, socket as Socket, head) })
    // P2P answers may wait for a piece longer than node's default request timeout allows, so the
    // whole request is unbounded; its head and any silence on the connection are not
    server.requestTimeout = 0
    server.headersTimeout = this.init.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS
    server.timeout = this.init.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
    server.keepAliveTimeout = 30_000
    const port = this.init.port ?? DEFAULT_PROXY_PORT
    const host = this.init.host ?? '127.0.0.1'
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => { server.off('error', reject); resolve() })
    })
    this.server = server
    const addr = server.address() as AddressInfo
    this.policy.addOwnPorts([addr.port])
    this.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
  }

  async stop (): Promise<void> {
    for (const s of this.tunnels) s.destroy()
    this.hijack?.stop()
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => { if (this.server == null) resolve(); else this.server.close(() => { resolve() }) })
    await this.upstream.close()
  }

  /** Whether a forward-proxied GET goes through P2P. */
  matches (url: URL): boolean {
    const key = url.origin + url.pathname
    return this.rules.some((r) => r.test(key))
  }

  private route (req: IncomingMessage, res: ServerResponse): void {
    this.dispatch(req, res).then(() => {
      this.c.onRequest?.(servedByP2P.has(res) ? 'p2p' : 'direct', req.method ?? 'GET')
    }, (err) => {
      this.c.onRequest?.('error', req.method ?? 'GET')
      // a body cut short because the client left is routine, not worth a warning
      const level = res.headersSent ? 'debug' : 'warn'
      this.c.log[level]({ err: errorInfo(err), method: req.method, url: redactUrl(absolute(req)) }, 'proxy request failed')
      sendError(res, err)
    })
  }

  private async dispatch (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/'
    const hijacked = this.hijack?.originOf(req.socket)
    if (hijacked != null) { await this.forward(req, res, hijackedUrl(raw, hijacked)); return }
    if (/^https?:\/\//i.test(raw)) { await this.forward(req, res, new URL(raw)); return }
    const url = new URL(raw, 'http://proxy')
    if (url.pathname === '/v2' || url.pathname.startsWith('/v2/')) { await this.registry.handle(req, res, url); return }
    if (url.pathname === HF_PREFIX || url.pathname.startsWith(`${HF_PREFIX}/`)) { await this.hf.handle(req, res, url); return }
    if (url.pathname === MODELSCOPE_PREFIX || url.pathname.startsWith(`${MODELSCOPE_PREFIX}/`)) { await this.modelScope.handle(req, res, url); return }
    if (url.pathname === '/healthz') { res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'); return }
    throw new InvalidRequestError(`${url.pathname} is neither a registry (/v2/), Hugging Face (${HF_PREFIX}/), ModelScope (${MODELSCOPE_PREFIX}/) nor an absolute-form proxy request`)
  }

  /** `HTTP_PROXY`-style request: P2P when a rule says so, straight to the origin otherwise. */
  private async forward (req: IncomingMessage, res: ServerResponse, target: URL): Promise<void> {
    // before anything is fetched, by P2P (a seed would fetch it) or straight
    await this.policy.check(target.hostname, defaultPort(target))
    const p2p = req.method === 'GET' && this.matches(target)
    if (p2p && BLOB_PATH.test(target.pathname)) { await this.registry.forward(req, res, target); return }
    if (p2p) { await serveTask(this.c, req, res, { request: { url: target.href, headers: upstreamHeaders(req, TASK_DROP) } }); return }
    await this.upstream.relay(req, res, target, { headers: upstreamHeaders(req) })
  }

  /** `CONNECT host:port`: intercepted for hijacked hosts, otherwise bytes piped both ways untouched (TLS stays end to end). */
  private tunnel (req: IncomingMessage, client: Socket, head: Buffer): void {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? '')
    if (m == null || Number(m[2]) < 1 || Number(m[2]) > 65535) { client.end(statusLine(400, 'Bad Request', 'CONNECT needs host:port')); return }
    if (this.tunnels.size >= (this.init.maxTunnels ?? DEFAULT_MAX_TUNNELS)) {
      this.c.onRequest?.('error', 'CONNECT')
      client.end(statusLine(503, 'Service Unavailable', 'too many open tunnels'))
      return
    }
    // counted from here, so concurrent CONNECTs still resolving cannot exceed the limit
    this.tunnels.add(client)
    client.once('error', () => { client.destroy() })
    client.once('close', () => { this.tunnels.delete(client) })
    this.policy.check(m[1], Number(m[2])).then((address) => {
      if (client.destroyed) { this.tunnels.delete(client); return }
      // a listed host is terminated here (the destination rules above hold for it too) and served like a forward request
      if (this.hijack?.matches(m[1], Number(m[2])) === true) { this.tunnels.delete(client); this.hijack.intercept(client, head, m[1], Number(m[2]), this.server!); return }
      this.open(req, client, head, address, Number(m[2]))
    }, (err) => {
      this.tunnels.delete(client)
      this.c.onRequest?.('error', 'CONNECT')
      this.c.log.info({ target: req.url, err: errorInfo(err) }, 'tunnel refused')
      const status = err?.code === 'ERR_DESTINATION_FORBIDDEN' ? 403 : 502
      client.end(statusLine(status, status === 403 ? 'Forbidden' : 'Bad Gateway', err?.message ?? 'cannot resolve'))
    })
  }

  /** The tunnel to an address the policy allowed; both sides closed after idleTimeoutMs of silence. */
  private open (req: IncomingMessage, client: Socket, head: Buffer, address: string, port: number): void {
    const upstream = connect(port, address)
    const idle = this.init.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
    client.setTimeout(idle, () => { close() })
    upstream.setTimeout(idle, () => { close() })
    let connected = false
    // what the destination sends is downloaded bytes like any other: it waits for the daemon's tokens
    const down = throttle(this.c.passthroughLimiters ?? [])
    const close = (): void => { this.tunnels.delete(client); client.destroy(); upstream.destroy(); down.destroy() }
    upstream.once('connect', () => {
      connected = true
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.byteLength > 0) upstream.write(head)
      upstream.pipe(down).pipe(client)
      client.pipe(upstream)
    })
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      this.c.log.debug({ host: req.url, err: err.code ?? err.message }, 'tunnel failed')
      if (!connected && client.writable) {
        this.tunnels.delete(client)
        client.end(statusLine(502, 'Bad Gateway', ''))
        return
      }
      close()
    })
    client.once('error', close)
    client.once('close', close)
    upstream.once('close', () => { if (connected) close() })
  }
}

function absolute (req: IncomingMessage): string {
  const raw = req.url ?? '/'
  return /^https?:\/\//i.test(raw) ? raw : `http://${req.headers.host ?? 'proxy'}${raw}`
}

/** A raw HTTP/1.1 answer on a socket taken over by CONNECT, with a plain-text reason. */
function statusLine (code: number, text: string, body: string): string {
  return `HTTP/1.1 ${code} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}
