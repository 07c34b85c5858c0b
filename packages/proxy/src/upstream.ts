import { pipeline } from 'node:stream/promises'
import { rootCertificates } from 'node:tls'
import { Agent, type Dispatcher } from 'undici'
import { OriginError, OriginTimeoutError } from '@damselfly/types'
import { redactUrl, throttle, type RateLimiter } from '@damselfly/utils'
import { downstreamHeaders } from './http-headers.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { DestinationPolicy } from './destination.js'

export interface UpstreamInit {
  /** how long the upstream may send nothing before the request fails @default 60000 */
  idleTimeoutMs?: number
  /** @default 64 */
  connections?: number
  /** PEM CA bundle trusted for https upstreams in addition to the system roots (`--ca-file`) */
  ca?: string
}

export interface UpstreamAnswer {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
}

export interface RelayOptions {
  headers: Record<string, string>
  /** adjusts the response headers before they are sent (Location / Link back through the proxy) */
  rewrite?: (headers: Record<string, string | string[]>) => void
}

/**
 * Requests the proxy does not serve from P2P: manifests, APIs, token
 * endpoints, uploads. Redirects are not followed: they are the client's to
 * follow (with its own credentials policy).
 */
export class Upstream {
  private readonly dispatcher: Dispatcher

  /** @param limiters what relayed answer bodies draw from (the daemon's download and back-to-source limits) */
  constructor (init: UpstreamInit = {}, private readonly policy?: DestinationPolicy, private readonly limiters: RateLimiter[] = []) {
    const idle = init.idleTimeoutMs ?? 60_000
    // names resolve only to addresses the policy allows, and connections go to those (no rebinding)
    this.dispatcher = new Agent({
      connections: init.connections ?? 64,
      headersTimeout: idle,
      bodyTimeout: idle,
      connect: {
        ...(policy != null ? { lookup: policy.lookup } : {}),
        ...(init.ca != null ? { ca: [...rootCertificates, init.ca] } : {})
      }
    })
  }

  /** Relays the client's request to `target` and the answer back, streaming both bodies. */
  async relay (req: IncomingMessage, res: ServerResponse, target: URL, opts: RelayOptions): Promise<void> {
    const method = req.method ?? 'GET'
    const hasBody = !(method === 'GET' || method === 'HEAD') && (req.headers['content-length'] != null || req.headers['transfer-encoding'] != null)
    const up = await this.request(target, method, opts.headers, hasBody ? req : undefined)
    const headers = downstreamHeaders(up.headers)
    opts.rewrite?.(headers)
    res.writeHead(up.statusCode, headers)
    if (method === 'HEAD') { await up.body.dump(); res.end(); return }
    await pipeline(up.body, throttle(this.limiters), res)
  }

  /** A HEAD whose headers are all that is wanted (size, digest, access). */
  async head (target: URL, headers: Record<string, string>): Promise<UpstreamAnswer> {
    const up = await this.request(target, 'HEAD', headers)
    await up.body.dump()
    return { statusCode: up.statusCode, headers: up.headers }
  }

  /** A GET whose JSON body the proxy reads itself (a hub's file listing); the body is undefined unless the answer is a 200. */
  async json (target: URL, headers: Record<string, string>): Promise<UpstreamAnswer & { body?: unknown }> {
    const up = await this.request(target, 'GET', { ...headers, accept: 'application/json' })
    if (up.statusCode !== 200) { await up.body.dump(); return { statusCode: up.statusCode, headers: up.headers } }
    return { statusCode: up.statusCode, headers: up.headers, body: await up.body.json() }
  }

  private async request (target: URL, method: string, headers: Record<string, string>, body?: IncomingMessage): Promise<Dispatcher.ResponseData> {
    await this.policy?.check(target.hostname, defaultPort(target))
    try {
      return await this.dispatcher.request({ origin: target.origin, path: target.pathname + target.search, method, headers, body })
    } catch (err: any) {
      if (err?.code === 'UND_ERR_HEADERS_TIMEOUT' || err?.code === 'UND_ERR_BODY_TIMEOUT') {
        throw new OriginTimeoutError(`upstream ${target.host} timed out`, { cause: err })
      }
      if (err?.code === 'ERR_DESTINATION_FORBIDDEN') throw err
      throw new OriginError(`cannot reach upstream ${redactUrl(target.href)}: ${err?.code ?? err?.message}`, undefined, { cause: err })
    }
  }

  async close (): Promise<void> { await this.dispatcher.close() }
}

/** The port a URL's connection goes to. */
export function defaultPort (u: URL): number {
  return u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80
}
