import { InvalidRequestError, InvalidUrlError, OriginError } from '@damselfly/types'
import { redactUrl } from '@damselfly/utils'
import type { HttpBackend } from './http-backend.js'
import { parseRepoPath, check, SHA256 } from './hf-backend.js'
import type { Backend, GetOptions, GetResult, ListOptions, ObjectEntry, ObjectStat } from '@damselfly/types'

export interface ModelScopeBackendInit {
  /** @default 'https://www.modelscope.cn' */
  endpoint?: string
  /** access token (MODELSCOPE_API_TOKEN), sent as `Authorization: Bearer` to the hub */
  token?: string
}

export interface ModelScopeRef {
  /** `org/model` */
  repo: string
  /** path inside the repo, '' for the whole repo */
  path: string
  /** branch, tag or commit @default 'master' */
  revision: string
}

export const DEFAULT_MODELSCOPE_ENDPOINT = 'https://www.modelscope.cn'
const SHAPE = 'modelscope://org/model[/path][@revision]'
const COMMIT = /^[0-9a-f]{40}$/

/** `modelscope://org/model[/path][@revision]` (or `org/model@revision/path`). */
export function parseModelScopeUrl (url: string): ModelScopeRef {
  if (!url.startsWith('modelscope://')) throw new InvalidUrlError(`not a modelscope:// URL: ${redactUrl(url)}`)
  return parseRepoPath(url.slice('modelscope://'.length).split(/[?#]/)[0], url, 'master', SHAPE)
}

export function formatModelScopeUrl (ref: ModelScopeRef): string {
  return `modelscope://${ref.repo}${ref.path !== '' ? `/${ref.path}` : ''}@${encodeURIComponent(ref.revision)}`
}

/** One entry of `GET /api/v1/models/{org}/{model}/repo/files`, as the hub spells it. */
export interface ModelScopeFile {
  Name?: string
  Path: string
  /** 'blob' for a file, 'tree' for a directory */
  Type: string
  Size?: number
  /** content sha256 (LFS files and others alike, when the hub knows it) */
  Sha256?: string
  /** the commit this file was last changed in */
  Revision?: string
}

interface Envelope<T> { Code?: number, Success?: boolean, Message?: string, Data?: T }

/**
 * Model repositories on ModelScope through its REST API (the one its Python SDK uses):
 * `GET /api/v1/models/{org}/{model}/repo/files?Revision=..&Recursive=true` lists files with
 * their size, sha256 and last commit; `GET /api/v1/models/{org}/{model}/repo?Revision=..&FilePath=..`
 * sends a file's content (ranged). The listing's sha256 becomes the content digest, so the task
 * id derives from the bytes, and each file is pinned to the commit the listing named.
 */
export class ModelScopeBackend implements Backend {
  readonly schemes = ['modelscope']
  private readonly endpoint: string

  constructor (private readonly http: HttpBackend, private readonly init: ModelScopeBackendInit = {}) {
    this.endpoint = (init.endpoint ?? DEFAULT_MODELSCOPE_ENDPOINT).replace(/\/+$/, '')
  }

  contentUrl (ref: ModelScopeRef): string {
    return this.endpoint + modelScopeContentPath(ref)
  }

  private headers (headers: Record<string, string>): Record<string, string> {
    if (this.init.token == null || this.init.token === '' || Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) return headers
    return { ...headers, authorization: `Bearer ${this.init.token}` }
  }

  async stat (url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<ObjectStat> {
    const ref = fileRef(url)
    // the listing, not the content endpoint, carries the sha256 and size
    const file = (await this.files(ref, headers, signal)).find((f) => f.Type !== 'tree' && f.Path === ref.path)
    if (file == null) throw new OriginError(`${ref.repo} has no ${ref.path} at ${ref.revision}`, 404)
    return {
      contentLength: file.Size ?? -1,
      supportsRange: true,
      headers: {},
      digest: modelScopeDigest(file),
      finalUrl: this.contentUrl(ref)
    }
  }

  async get (url: string, headers: Record<string, string>, options: GetOptions): Promise<GetResult> {
    const content = this.contentUrl(fileRef(url))
    try {
      return await this.http.get(content, this.headers(headers), options)
    } catch (err) {
      if (err instanceof OriginError && err.originStatus != null) check(err.originStatus, content, 'private model? set MODELSCOPE_API_TOKEN or --modelscope-token')
      throw err
    }
  }

  /** The files under a modelscope:// URL, each pinned to the commit the listing names for it. */
  async list (url: string, headers: Record<string, string>, options: ListOptions = {}): Promise<ObjectEntry[]> {
    const { signal, recursive = false } = options
    const ref = parseModelScopeUrl(url)
    if (!recursive && ref.path === '') throw new InvalidRequestError(`${url} names a whole repository: use -r and -O <directory>`)
    const files = (await this.files(ref, headers, signal)).filter((f) => f.Type !== 'tree')
    const toEntry = (f: ModelScopeFile, rel: string): ObjectEntry => ({
      url: formatModelScopeUrl(modelScopeFileRef(f, ref)),
      path: rel,
      contentLength: f.Size ?? -1,
      digest: modelScopeDigest(f)
    })
    const exact = ref.path !== '' ? files.find((f) => f.Path === ref.path) : undefined
    if (exact != null) return [toEntry(exact, ref.path.split('/').pop()!)]
    const prefix = ref.path === '' ? '' : `${ref.path}/`
    const under = files.filter((f) => f.Path.startsWith(prefix))
    if (under.length === 0) throw new OriginError(`${ref.repo} has no ${ref.path} at ${ref.revision}`, 404)
    if (!recursive) throw new InvalidRequestError(`${url} names a directory: use -r and -O <directory>`)
    return under.map((f) => toEntry(f, f.Path.slice(prefix.length)))
  }

  private async files (ref: ModelScopeRef, headers: Record<string, string>, signal?: AbortSignal): Promise<ModelScopeFile[]> {
    const url = this.endpoint + modelScopeFilesPath(ref)
    const res = await this.http.send(url, { headers: { ...this.headers(headers), accept: 'application/json' }, signal })
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => {})
      check(res.statusCode, url, 'private model? set MODELSCOPE_API_TOKEN or --modelscope-token')
    }
    return modelScopeFiles(await res.body.json(), ref)
  }
}

function fileRef (url: string): ModelScopeRef {
  const ref = parseModelScopeUrl(url)
  if (ref.path === '') throw new InvalidUrlError(`${url} names a whole repository: list it (damselfly get -r) to download its files`)
  return ref
}

/** `/api/v1/models/{org}/{model}/repo?Revision=..&FilePath=..`: a file's content, ranged. */
export function modelScopeContentPath (ref: ModelScopeRef): string {
  return `/api/v1/models/${ref.repo}/repo?Revision=${encodeURIComponent(ref.revision)}&FilePath=${encodeURIComponent(ref.path)}`
}

/** `/api/v1/models/{org}/{model}/repo/files?Revision=..&Recursive=true`: every file with its size, sha256 and commit. */
export function modelScopeFilesPath (ref: ModelScopeRef): string {
  return `/api/v1/models/${ref.repo}/repo/files?Revision=${encodeURIComponent(ref.revision)}&Recursive=true`
}

/** The files of a listing's JSON body, or the hub's error (it wraps errors in a 200 too). */
export function modelScopeFiles (json: unknown, ref: ModelScopeRef): ModelScopeFile[] {
  const body = json as Envelope<{ Files?: ModelScopeFile[] }> | null
  // Code/Success say whether the listing is real
  if (body == null || (body.Code != null && body.Code !== 200) || body.Success === false || !Array.isArray(body.Data?.Files)) {
    throw new OriginError(`hub could not list ${ref.repo}@${ref.revision}: ${String(body?.Message ?? 'no file list').slice(0, 200)}`, body?.Code === 404 ? 404 : undefined)
  }
  return body.Data.Files
}

/** The file's content digest from the listing, when the hub gave a sha256. */
export function modelScopeDigest (f: ModelScopeFile): string | undefined {
  const sha = (f.Sha256 ?? '').toLowerCase()
  return SHA256.test(sha) ? `sha256:${sha}` : undefined
}

/** The listed file pinned to the commit the listing names for it (the asked-for revision when it names none). */
export function modelScopeFileRef (f: ModelScopeFile, listed: ModelScopeRef): ModelScopeRef {
  return { repo: listed.repo, path: f.Path, revision: f.Revision != null && COMMIT.test(f.Revision) ? f.Revision : listed.revision }
}
