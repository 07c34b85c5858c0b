import { DEFAULT_HF_ENDPOINT, HF_PREFIX } from './constants.js'
import { TASK_DROP, pick, upstreamHeaders } from './http-headers.js'
import { HubEndpoint, header, type HubEndpointComponents, type HubRequest } from './hub-endpoint.js'
import { serveTask } from './serve-task.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface HuggingFaceInit {
  /** the hub the proxy stands in for @default 'https://huggingface.co' */
  endpoint?: string
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
export class HuggingFaceEndpoint extends HubEndpoint {
  constructor (c: HubEndpointComponents, init: HuggingFaceInit = {}) {
    super(c, HF_PREFIX, init.endpoint ?? DEFAULT_HF_ENDPOINT)
  }

  protected async download (req: IncomingMessage, res: ServerResponse, r: HubRequest): Promise<boolean> {
    const m = RESOLVE.exec(r.rest)
    if (m == null) return false
    const { target, self } = r
    const headers = withoutXet(upstreamHeaders(req, TASK_DROP))
    const meta = await this.c.upstream.head(target, headers)
    const location = header(meta, 'location')
    const offHub = location != null && new URL(location, target).origin !== this.hub.origin
    if (meta.statusCode >= 400 || (meta.statusCode >= 300 && !offHub)) {
      // errors, and the hub's own redirects (renamed repos, resolve-cache), are the client's to see and follow
      if (req.method === 'HEAD' || meta.statusCode < 400) this.answer(res, meta, self)
      else await this.relay(req, res, r)
      return true
    }
    const keep = pick(meta.headers, FILE_HEADERS)
    if (req.method === 'HEAD') {
      // no Location: the download must come back here, not go to the CDN
      const size = header(meta, 'x-linked-size') ?? header(meta, 'content-length') ?? '0'
      res.writeHead(200, { ...keep, 'content-length': size, 'accept-ranges': 'bytes' }).end()
      return true
    }
    // the commit, not a branch name, identifies the bytes behind a URL-keyed task
    const commit = header(meta, 'x-repo-commit')
    const url = commit != null && /^[0-9a-f]{40}$/.test(commit) ? this.hubUrl(`${m[1]}${commit}${m[3]}`).href : target.href
    const lfs = /^"?([0-9a-f]{64})"?$/.exec(header(meta, 'x-linked-etag') ?? '')
    await serveTask(this.c, req, res, {
      request: { url, headers, digest: lfs != null ? `sha256:${lfs[1]}` : undefined },
      headers: keep
    })
    return true
  }
}

function withoutXet (h: Record<string, string>): Record<string, string> {
  if (h.accept == null) return h
  const accept = h.accept.split(',').map((s) => s.trim()).filter((s) => !s.startsWith(XET_ACCEPT)).join(', ')
  return { ...h, accept: accept === '' ? '*/*' : accept }
}
