import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type Socket, type AddressInfo } from 'node:net'
import { InvalidRequestError, errorInfo } from '@damselfly/types'
import { redactUrl } from '@damselfly/backend'
import { BLOB_PATH, DEFAULT_PROXY_PORT, DEFAULT_RULES, HF_PREFIX } from './constants.js'
import { sendError, TASK_DROP, upstreamHeaders } from './http-headers.js'
import { HuggingFaceEndpoint } from './hugging-face.js'
import { RegistryMirror } from './registry.js'
import { serveTask, servedByP2P } from './serve-task.js'
import { Upstream } from './upstream.js'
import { HttpsHijack, hijackedUrl } from './hijack.js'
import type { ProxyComponents, ProxyInit } from './index.js'
import type { Duplex } from 'node:stream'

/**
 * The peer's HTTP proxy: one listener for containerd's registry mirror
 * (`/v2/…`), the Hugging Face endpoint (`/hf/…`), forward proxying
 * (absolute-form requests, `CONNECT` tunnels) and its own `/healthz`.
 */
export class ProxyServer {
  private server?: Server
  private readonly upstream: Upstream
  private readonly registry: RegistryMirror
  private readonly hf: HuggingFaceEndpoint
  private readonly rules: RegExp[]
  private readonly tunnels = new Set<Socket>()
  /** HTTPS interception for the hosts listed in `hijackHttps` */
  readonly hijack?: HttpsHijack
  url = ''

  constructor (private readonly c: ProxyComponents, private readonly init: ProxyInit = {}) {
    this.upstream = new Upstream(init.upstream)
    const parts = { ...c, upstream: this.upstream }
    this.registry = new RegistryMirror(parts, init.registry)
    this.hf = new HuggingFaceEndpoint(parts, init.huggingFace)
    this.rules = (init.rules ?? DEFAULT_RULES).map((r) => new RegExp(r))
    if ((init.hijackHttps?.hosts.length ?? 0) > 0) this.hijack = new HttpsHijack(c, init.hijackHttps!)
  }

  async start (): Promise<void> {
    await this.hijack?.start()
    const server = createServer((req, res) => { this.route(req, res) })
    server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => { this.tunnel(req, socket as Socket, head) })
    // P2P answers may wait for a piece longer than node's default request timeout allows
    server.requestTimeout = 0
    server.keepAliveTimeout = 30_000
    const port = this.init.port ?? DEFAULT_PROXY_PORT
    const host = this.init.host ?? '127.0.0.1'
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => { server.off('error', reject); resolve() })
    })
    this.server = server
    const addr = server.address() as AddressInfo
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
    if (url.pathname === '/healthz') { res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'); return }
    throw new InvalidRequestError(`${url.pathname} is neither a registry (/v2/), Hugging Face (${HF_PREFIX}/) nor an absolute-form proxy request`)
  }

  /** `HTTP_PROXY`-style request: P2P when a rule says so, straight to the origin otherwise. */
  private async forward (req: IncomingMessage, res: ServerResponse, target: URL): Promise<void> {
    const p2p = req.method === 'GET' && this.matches(target)
    if (p2p && BLOB_PATH.test(target.pathname)) { await this.registry.forward(req, res, target); return }
    if (p2p) { await serveTask(this.c, req, res, { request: { url: target.href, headers: upstreamHeaders(req, TASK_DROP) } }); return }
    await this.upstream.relay(req, res, target, { headers: upstreamHeaders(req) })
  }

  /** `CONNECT host:port`: intercepted for hijacked hosts, otherwise bytes piped both ways untouched (TLS stays end to end). */
  private tunnel (req: IncomingMessage, client: Socket, head: Buffer): void {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? '')
    if (m == null) { client.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'); return }
    if (this.hijack?.matches(m[1], Number(m[2])) === true) { this.hijack.intercept(client, head, m[1], Number(m[2]), this.server!); return }
    const upstream = connect(Number(m[2]), m[1])
    this.tunnels.add(client)
    let connected = false
    const close = (): void => { this.tunnels.delete(client); client.destroy(); upstream.destroy() }
    upstream.once('connect', () => {
      connected = true
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.byteLength > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      this.c.log.debug({ host: req.url, err: err.code ?? err.message }, 'tunnel failed')
      if (!connected && client.writable) {
        this.tunnels.delete(client)
        client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n')
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
