import { DEFAULT_HF_ENDPOINT, HF_PREFIX } from './constants.js'
import { TASK_DROP, downstreamHeaders, pick, upstreamHeaders } from './http-headers.js'
import { serveTask, type ServeTaskComponents } from './serve-task.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Upstream, UpstreamAnswer } from './upstream.js'

export interface HuggingFaceInit {
  /** the hub the proxy stands in for @default 'https://huggingface.co' */
  endpoint?: string
}

export interface HuggingFaceComponents extends ServeTaskComponents {
  upstream: Upstream
}

/** `/{repo}/resolve/{rev}/{path}` for models, `/{datasets|spaces}/{repo}/resolve/…` for the others */
const RESOLVE = /^(\/(?:datasets\/|spaces\/)?.+?\/resolve\/)([^/]+)(\/.+)$/

/** What hub clients read from a resolve answer (file identity, size, commit). */
const FILE_HEADERS = ['etag', 'x-linked-etag', 'x-linked-size', 'x-repo-commit', 'content-disposition', 'x-error-code', 'x-error-message']

/** The hub answers resolve with this when the client accepts it: its Xet CAS, which P2P cannot serve. */
const XET_ACCEPT = 'application/vnd.xet-fileinfo+json'

/**
 * Hugging Face endpoint mode (`HF_ENDPOINT` / `hubUrl` = `<proxy>/hf`): the
 * API passes through; file downloads (`resolve`) come from P2P with the
 * headers hub clients rely on, and the proxy follows the hub's CDN redirect
 * itself so the client never leaves it.
 */
export class HuggingFaceEndpoint {
  private readonly hub: URL

  constructor (private readonly c: HuggingFaceComponents, init: HuggingFaceInit = {}) {
    this.hub = new URL(init.endpoint ?? DEFAULT_HF_ENDPOINT)
  }

  /** A request whose path starts with `/hf`. */
  async handle (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const rest = url.pathname.slice(HF_PREFIX.length) || '/'
    const target = this.hubUrl(rest + url.search)
    const self = `http://${req.headers.host ?? '127.0.0.1'}${HF_PREFIX}`
    const resolve = RESOLVE.exec(rest)
    if ((req.method === 'GET' || req.method === 'HEAD') && resolve != null) {
      await this.resolve(req, res, target, resolve, self)
      return
    }
    await this.c.upstream.relay(req, res, target, { headers: upstreamHeaders(req), rewrite: (h) => { this.rewrite(h, self) } })
  }

  private async resolve (req: IncomingMessage, res: ServerResponse, target: URL, m: RegExpExecArray, self: string): Promise<void> {
    const headers = withoutXet(upstreamHeaders(req, TASK_DROP))
    const meta = await this.c.upstream.head(target, headers)
    const location = header(meta, 'location')
    const offHub = location != null && new URL(location, target).origin !== this.hub.origin
    if (meta.statusCode >= 400 || (meta.statusCode >= 300 && !offHub)) {
      // errors, and the hub's own redirects (renamed repos, resolve-cache), are the client's to see and follow
      if (req.method === 'HEAD' || meta.statusCode < 400) this.answer(res, meta, self)
      else await this.c.upstream.relay(req, res, target, { headers: upstreamHeaders(req), rewrite: (h) => { this.rewrite(h, self) } })
      return
    }
    const keep = pick(meta.headers, FILE_HEADERS)
    if (req.method === 'HEAD') {
      // no Location: the download must come back here, not go to the CDN
      const size = header(meta, 'x-linked-size') ?? header(meta, 'content-length') ?? '0'
      res.writeHead(200, { ...keep, 'content-length': size, 'accept-ranges': 'bytes' }).end()
      return
    }
    // the commit, not a branch name, identifies the bytes behind a URL-keyed task
    const commit = header(meta, 'x-repo-commit')
    const url = commit != null && /^[0-9a-f]{40}$/.test(commit) ? this.hubUrl(`${m[1]}${commit}${m[3]}`).href : target.href
    const lfs = /^"?([0-9a-f]{64})"?$/.exec(header(meta, 'x-linked-etag') ?? '')
    await serveTask(this.c, req, res, {
      request: { url, headers, digest: lfs != null ? `sha256:${lfs[1]}` : undefined },
      headers: keep
    })
  }

  private answer (res: ServerResponse, meta: UpstreamAnswer, self: string): void {
    const h = downstreamHeaders(meta.headers)
    this.rewrite(h, self)
    h['content-length'] = '0'
    res.writeHead(meta.statusCode, h).end()
  }

  /** Hub-absolute and root-relative links lead back through the proxy. */
  private rewrite (h: Record<string, string | string[]>, self: string): void {
    const hubBase = this.hub.href.replace(/\/$/, '')
    const loc = h.location
    if (typeof loc === 'string') {
      if (loc.startsWith(hubBase)) h.location = self + loc.slice(hubBase.length)
      else if (loc.startsWith('/') && !loc.startsWith('//')) h.location = self + loc.slice(this.hub.pathname.replace(/\/$/, '').length)
    }
    if (typeof h.link === 'string') h.link = h.link.split(hubBase).join(self)
  }

  private hubUrl (pathAndQuery: string): URL {
    return new URL(this.hub.pathname.replace(/\/$/, '') + pathAndQuery, this.hub.origin)
  }
}

function header (a: UpstreamAnswer, name: string): string | undefined {
  const v = a.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function withoutXet (h: Record<string, string>): Record<string, string> {
  if (h.accept == null) return h
  const accept = h.accept.split(',').map((s) => s.trim()).filter((s) => !s.startsWith(XET_ACCEPT)).join(', ')
  return { ...h, accept: accept === '' ? '*/*' : accept }
}
