import { rootCertificates as tlsRootCertificates } from 'node:tls'
import { Agent, interceptors, type Dispatcher } from 'undici'
import { OriginError, OriginTimeoutError } from '@damselfly/types'
import { redactUrl } from '@damselfly/utils'
import type { Backend, GetOptions, GetResult, ObjectStat } from '@damselfly/types'

export interface HttpBackendInit {
  /**
   * retries on 5xx, resets and timeouts (with exponential backoff)
   * @default 5
   */
  maxRetries?: number
  /** @default 5 */
  maxRedirections?: number
  /**
   * how long the origin may send nothing, headers or body, before we give up on that attempt
   * @default 30000
   */
  idleTimeoutMs?: number
  /** @default 10000 */
  connectTimeoutMs?: number
  /** PEM CA bundle trusted in addition to the system's */
  ca?: string | Buffer
  /** @default 16 */
  connections?: number
}

/** Response headers worth passing on (proxy) or keeping (stat). */
const KEEP_HEADERS = ['content-type', 'etag', 'last-modified', 'x-linked-etag', 'x-linked-size', 'docker-content-digest', 'accept-ranges', 'content-disposition']

export class HttpBackend implements Backend {
  readonly schemes = ['http', 'https']
  private readonly dispatcher: Dispatcher

  constructor (init: HttpBackendInit = {}) {
    const idle = init.idleTimeoutMs ?? 30_000
    this.dispatcher = new Agent({
      connections: init.connections ?? 16,
      headersTimeout: idle,
      bodyTimeout: idle,
      // a given CA is added to node's bundled roots, not swapped for them: public origins keep working
      connect: { timeout: init.connectTimeoutMs ?? 10_000, ...(init.ca != null ? { ca: [...tlsRootCertificates, String(init.ca)] } : {}) }
    }).compose(
      interceptors.redirect({ maxRedirections: init.maxRedirections ?? 5 }),
      interceptors.retry({
        maxRetries: init.maxRetries ?? 5,
        minTimeout: 200,
        maxTimeout: 5_000,
        timeoutFactor: 2,
        methods: ['GET', 'HEAD'],
        statusCodes: [500, 502, 503, 504, 429],
        errorCodes: ['ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'ENETDOWN', 'ENETUNREACH', 'EHOSTDOWN', 'EHOSTUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']
      })
    )
  }

  async stat (url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<ObjectStat> {
    // a ranged GET answers both "how big" and "can you do ranges" in one round trip,
    // and works on servers (presigned S3 URLs, some CDNs) that refuse HEAD
    return await statFromProbe(url, await this.send(url, { headers: { ...headers, range: 'bytes=0-0' }, signal }))
  }

  async get (url: string, headers: Record<string, string>, options: GetOptions): Promise<GetResult> {
    return await getResultFrom(url, await this.send(url, { headers: rangeHeaders(headers, options), signal: options.signal }), options.start ?? 0)
  }

  /**
   * One request through the shared dispatcher (retries, timeouts, CA), for backends
   * built on HTTP (OCI registries, the HF hub) that need other methods or to see a
   * redirect themselves. Errors become origin errors; statuses are the caller's.
   */
  async send (url: string, opts: SendOptions = {}): Promise<Dispatcher.ResponseData> {
    try {
      return await this.dispatcher.request({
        origin: new URL(url).origin,
        path: pathOf(url),
        method: opts.method ?? 'GET',
        headers: opts.headers,
        body: opts.body,
        signal: opts.signal,
        ...(opts.followRedirects === false ? { maxRedirections: 0 } : {})
      } as Dispatcher.RequestOptions)
    } catch (err: any) {
      if (['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'].includes(err?.code)) {
        throw new OriginTimeoutError(`origin ${new URL(url).host} timed out`, { cause: err })
      }
      if (err?.name === 'AbortError') throw err
      if (err?.statusCode >= 400) throw new OriginError(`origin answered ${err.statusCode} for ${redactUrl(url)}`, err.statusCode, { cause: err })
      // a retry that resumed mid-body and found the origin inconsistent (length, range) reports the 2xx it got: not an HTTP error
      if (err?.statusCode != null) throw new OriginError(`origin transfer failed for ${redactUrl(url)}: ${err.message}`, undefined, { cause: err })
      throw new OriginError(`cannot reach origin ${new URL(url).host}: ${err?.code ?? err?.message}`, undefined, { cause: err })
    }
  }

  async close (): Promise<void> { await this.dispatcher.close() }
}

/** What a `bytes=0-0` probe tells: size, range support, headers worth keeping. */
export async function statFromProbe (url: string, res: Dispatcher.ResponseData): Promise<ObjectStat> {
  await res.body.dump()
  let contentLength = -1
  let supportsRange = false
  if (res.statusCode === 206) {
    supportsRange = true
    const total = /\/(\d+)\s*$/.exec(String(res.headers['content-range'] ?? ''))
    if (total != null) contentLength = Number(total[1])
  } else if (res.statusCode === 200) {
    const cl = res.headers['content-length']
    if (cl != null) contentLength = Number(cl)
  } else if (res.statusCode === 416) {
    contentLength = 0
  } else {
    throw new OriginError(`origin answered ${res.statusCode} for ${redactUrl(url)}`, res.statusCode)
  }
  const picked = pickHeaders(res.headers)
  return { contentLength, supportsRange, headers: picked, finalUrl: url, digest: registryDigest(url, picked) }
}

export function rangeHeaders (headers: Record<string, string>, options: GetOptions): Record<string, string> {
  const start = options.start ?? 0
  const h = { ...headers }
  if (start > 0 || options.end != null) h.range = `bytes=${start}-${options.end ?? ''}`
  return h
}

export async function getResultFrom (url: string, res: Dispatcher.ResponseData, start: number): Promise<GetResult> {
  if (res.statusCode !== 200 && res.statusCode !== 206) {
    await res.body.dump().catch(() => {})
    throw new OriginError(`origin answered ${res.statusCode} for ${redactUrl(url)}`, res.statusCode)
  }
  // an origin that ignores Range sends from byte 0; the caller skips what it has
  const cl = res.headers['content-length']
  return {
    status: res.statusCode,
    start: res.statusCode === 206 ? start : 0,
    body: res.body,
    contentLength: cl != null ? Number(cl) : -1,
    headers: pickHeaders(res.headers)
  }
}

export interface SendOptions {
  /** @default 'GET' */
  method?: Dispatcher.HttpMethod
  headers?: Record<string, string>
  body?: string
  signal?: AbortSignal
  /** @default true */
  followRedirects?: boolean
}

/**
 * A registry blob fetched over plain http(s) is content-addressed too: the registry
 * vouches for the digest in the path by echoing it in `Docker-Content-Digest`.
 */
function registryDigest (url: string, headers: Record<string, string>): string | undefined {
  const m = /\/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})$/.exec(new URL(url).pathname)
  if (m == null) return undefined
  return headers['docker-content-digest'] === m[1] ? m[1] : undefined
}

function pathOf (url: string): string {
  const u = new URL(url)
  return u.pathname + u.search
}

function pickHeaders (h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of KEEP_HEADERS) {
    const v = h[k]
    if (v != null) out[k] = Array.isArray(v) ? v.join(', ') : v
  }
  return out
}

