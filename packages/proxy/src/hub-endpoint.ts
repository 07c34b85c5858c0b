import { downstreamHeaders, upstreamHeaders } from './http-headers.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ServeTaskComponents } from './serve-task.js'
import type { Upstream, UpstreamAnswer } from './upstream.js'

export interface HubEndpointComponents extends ServeTaskComponents {
  upstream: Upstream
}

/** One request on a hub endpoint, with the URLs it maps to. */
export interface HubRequest {
  /** the path after the endpoint's prefix, '/' at least */
  rest: string
  /** the same request at the hub */
  target: URL
  /** this endpoint as the client reaches it, for links back through the proxy */
  self: string
}

/**
 * What a model hub endpoint on the proxy (`<proxy>/hf`, `<proxy>/modelscope`)
 * does the same whatever the hub: it maps its prefix onto the hub's base URL,
 * lets each hub take the file downloads it serves from P2P, and relays the
 * rest (API calls, errors) with the hub's links pointing back at the proxy.
 */
export abstract class HubEndpoint {
  protected readonly hub: URL

  constructor (protected readonly c: HubEndpointComponents, private readonly prefix: string, endpoint: string) {
    this.hub = new URL(endpoint)
  }

  /** A request whose path starts with the endpoint's prefix. */
  async handle (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const rest = url.pathname.slice(this.prefix.length) || '/'
    const r: HubRequest = { rest, target: this.hubUrl(rest + url.search), self: `http://${req.headers.host ?? '127.0.0.1'}${this.prefix}` }
    if ((req.method === 'GET' || req.method === 'HEAD') && await this.download(req, res, r)) return
    await this.relay(req, res, r)
  }

  /** Answers a file download from P2P; false when the request is not one (it is relayed then). */
  protected abstract download (req: IncomingMessage, res: ServerResponse, r: HubRequest): Promise<boolean>

  /** The request as the client sent it, to the hub, and the hub's answer back. */
  protected async relay (req: IncomingMessage, res: ServerResponse, r: HubRequest): Promise<void> {
    await this.c.upstream.relay(req, res, r.target, { headers: upstreamHeaders(req), rewrite: (h) => { this.rewrite(h, r.self) } })
  }

  /** A bodiless answer with the hub's status and headers (a HEAD's, a redirect). */
  protected answer (res: ServerResponse, meta: UpstreamAnswer, self: string): void {
    const h = downstreamHeaders(meta.headers)
    this.rewrite(h, self)
    h['content-length'] = '0'
    res.writeHead(meta.statusCode, h).end()
  }

  /** Hub-absolute and root-relative links lead back through the proxy. */
  protected rewrite (h: Record<string, string | string[]>, self: string): void {
    const hubBase = this.hub.href.replace(/\/$/, '')
    const loc = h.location
    if (typeof loc === 'string') {
      if (loc.startsWith(hubBase)) h.location = self + loc.slice(hubBase.length)
      else if (loc.startsWith('/') && !loc.startsWith('//')) h.location = self + loc.slice(this.hub.pathname.replace(/\/$/, '').length)
    }
    if (typeof h.link === 'string') h.link = h.link.split(hubBase).join(self)
  }

  protected hubUrl (pathAndQuery: string): URL {
    return new URL(this.hub.pathname.replace(/\/$/, '') + pathAndQuery, this.hub.origin)
  }
}

export function header (a: UpstreamAnswer, name: string): string | undefined {
  const v = a.headers[name]
  return Array.isArray(v) ? v[0] : v
}
