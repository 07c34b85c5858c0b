import { DEFAULT_MODELSCOPE_ENDPOINT, modelScopeContentPath, modelScopeDigest, modelScopeFileRef, modelScopeFiles, modelScopeFilesPath, type ModelScopeFile, type ModelScopeRef } from '@damselfly/backend'
import { MODELSCOPE_PREFIX } from './constants.js'
import { TASK_DROP, upstreamHeaders } from './http-headers.js'
import { HubEndpoint, type HubEndpointComponents, type HubRequest } from './hub-endpoint.js'
import { serveTask } from './serve-task.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface ModelScopeInit {
  /** the hub the proxy stands in for (`--modelscope-endpoint`) @default 'https://www.modelscope.cn' */
  endpoint?: string
}

/** a file's content: `/api/v1/models/{org}/{model}/repo?Revision=..&FilePath=..` (the listing is `/repo/files`) */
const CONTENT = /^\/api\/v1\/models\/([^/]+\/[^/]+)\/repo$/

/**
 * ModelScope endpoint mode (`MODELSCOPE_DOMAIN` = `<proxy host:port>/modelscope`
 * with `MODELSCOPE_URL_SCHEME=http://`, or an SDK endpoint of `<proxy>/modelscope`):
 * the API passes through; file contents come from P2P, each a task keyed by the
 * sha256 the hub's listing gives for the file and pinned to the commit it names.
 * The listing is read with the client's own credentials, and the engine checks
 * them against the hub again before serving bytes others fetched.
 */
export class ModelScopeEndpoint extends HubEndpoint {
  constructor (c: HubEndpointComponents, init: ModelScopeInit = {}) {
    super(c, MODELSCOPE_PREFIX, init.endpoint ?? DEFAULT_MODELSCOPE_ENDPOINT)
  }

  protected async download (req: IncomingMessage, res: ServerResponse, r: HubRequest): Promise<boolean> {
    const m = CONTENT.exec(r.rest)
    const path = r.target.searchParams.get('FilePath')
    if (m == null || path == null || path === '') return false
    const asked: ModelScopeRef = { repo: m[1], path, revision: r.target.searchParams.get('Revision') ?? 'master' }
    const headers = upstreamHeaders(req, TASK_DROP)
    const file = await this.listed(asked, headers)
    // not listed (no access, no such file or revision, a listing the hub would not give): the hub's own answer is the client's
    if (file == null) return false
    const digest = modelScopeDigest(file)
    const etag: Record<string, string> = digest != null ? { etag: `"${digest.slice('sha256:'.length)}"` } : {}
    if (req.method === 'HEAD' && file.Size != null) {
      res.writeHead(200, { ...etag, 'content-type': 'application/octet-stream', 'content-length': String(file.Size), 'accept-ranges': 'bytes' }).end()
      return true
    }
    // the commit, not a branch name, identifies the bytes behind the task when the hub gives no sha256
    const url = this.hubUrl(modelScopeContentPath(modelScopeFileRef(file, asked))).href
    await serveTask(this.c, req, res, { request: { url, headers, digest }, headers: etag })
    return true
  }

  private async listed (ref: ModelScopeRef, headers: Record<string, string>): Promise<ModelScopeFile | undefined> {
    const answer = await this.c.upstream.json(this.hubUrl(modelScopeFilesPath(ref)), headers)
    if (answer.body == null) return undefined
    try {
      return modelScopeFiles(answer.body, ref).find((f) => f.Type !== 'tree' && f.Path === ref.path)
    } catch {
      return undefined
    }
  }
}
