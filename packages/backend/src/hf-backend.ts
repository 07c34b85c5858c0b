import { InvalidRequestError, InvalidUrlError, OriginAuthError, OriginError } from '@damselfly/types'
import { redactUrl } from '@damselfly/utils'
import { statFromProbe, type HttpBackend } from './http-backend.js'
import type { Backend, GetOptions, GetResult, ListOptions, ObjectEntry, ObjectStat } from '@damselfly/types'

export interface HfBackendInit {
  /** @default 'https://huggingface.co' */
  endpoint?: string
  /** access token, sent as `Authorization: Bearer` to the hub (never to the CDN it redirects to) */
  token?: string
}

export type HfRepoType = 'models' | 'datasets' | 'spaces'

export interface HfRef {
  type: HfRepoType
  /** `owner/name` */
  repo: string
  /** path inside the repo, '' for the whole repo */
  path: string
  /** @default 'main' */
  revision: string
}

/**
 * `hf://[datasets/|spaces/|models/]owner/repo[/path][@revision]`; `owner/repo@revision/path`
 * (huggingface_hub's spelling) is understood too.
 */
export function parseHfUrl (url: string): HfRef {
  if (!url.startsWith('hf://')) throw new InvalidUrlError(`not an hf:// URL: ${redactUrl(url)}`)
  let rest = url.slice('hf://'.length).split(/[?#]/)[0]
  let type: HfRepoType = 'models'
  const first = rest.split('/')[0]
  if (first === 'datasets' || first === 'spaces' || first === 'models') { type = first; rest = rest.slice(first.length + 1) }
  return { type, ...parseRepoPath(rest, url, 'main', 'hf://[datasets/]owner/repo[/path][@revision]') }
}

/**
 * `owner/repo[/path][@revision]` or `owner/repo@revision/path` (huggingface_hub's and
 * modelscope's spelling): the part of a hub URL after its scheme (and repo type).
 */
export function parseRepoPath (rest: string, url: string, defaultRevision: string, shape: string): { repo: string, path: string, revision: string } {
  const parts = rest.split('/')
  if (parts.length < 2 || parts[0] === '' || parts[1] === '') {
    throw new InvalidUrlError(`${url.split(':')[0]} URLs look like ${shape}, got ${url}`)
  }
  let revision = defaultRevision
  let name = parts[1]
  let path = parts.slice(2).join('/')
  const at = name.indexOf('@')
  if (at >= 0) {
    revision = name.slice(at + 1)
    name = name.slice(0, at)
  } else {
    // the revision follows the path; it may itself hold slashes (refs/pr/1)
    const i = path.indexOf('@')
    if (i >= 0) { revision = path.slice(i + 1); path = path.slice(0, i) }
  }
  if (revision === '') throw new InvalidUrlError(`empty revision in ${url}`)
  return { repo: `${parts[0]}/${name}`, path: path.replace(/\/+$/, ''), revision: decodeURIComponent(revision) }
}

export function formatHfUrl (ref: HfRef): string {
  const prefix = ref.type === 'models' ? '' : `${ref.type}/`
  return `hf://${prefix}${ref.repo}${ref.path !== '' ? `/${ref.path}` : ''}@${encodeURIComponent(ref.revision)}`
}

interface TreeEntry {
  type: 'file' | 'directory'
  path: string
  size?: number
  oid?: string
  lfs?: { oid: string, size: number }
}

export const SHA256 = /^[0-9a-f]{64}$/
const COMMIT = /^[0-9a-f]{40}$/

/**
 * Files of Hugging Face repositories, through the hub's API: the tree lists a
 * repo, `resolve` answers with a redirect to the CDN carrying the LFS sha256
 * (`X-Linked-Etag`) and size (`X-Linked-Size`), which make the content digest.
 */
export class HfBackend implements Backend {
  readonly schemes = ['hf']
  private readonly endpoint: string

  constructor (private readonly http: HttpBackend, private readonly init: HfBackendInit = {}) {
    this.endpoint = (init.endpoint ?? 'https://huggingface.co').replace(/\/+$/, '')
  }

  resolveUrl (ref: HfRef): string {
    const prefix = ref.type === 'models' ? '' : `${ref.type}/`
    return `${this.endpoint}/${prefix}${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/${encodePath(ref.path)}`
  }

  private apiUrl (ref: HfRef, what: string, path = ''): string {
    return `${this.endpoint}/api/${ref.type}/${ref.repo}/${what}/${encodeURIComponent(ref.revision)}${path !== '' ? `/${encodePath(path)}` : ''}`
  }

  private headers (headers: Record<string, string>): Record<string, string> {
    if (this.init.token == null || this.init.token === '' || Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) return headers
    return { ...headers, authorization: `Bearer ${this.init.token}` }
  }

  async stat (url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<ObjectStat> {
    const ref = fileRef(url)
    const resolve = this.resolveUrl(ref)
    // the hub's own answer, not the CDN's: only it carries the LFS sha256 and size
    const res = await this.http.send(resolve, { method: 'HEAD', headers: this.headers(headers), signal, followRedirects: false })
    await res.body.dump()
    check(res.statusCode, resolve)
    const linkedSize = res.headers['x-linked-size']
    const linkedEtag = unquote(String(res.headers['x-linked-etag'] ?? ''))
    const keep: Record<string, string> = {}
    for (const k of ['etag', 'x-linked-etag', 'x-linked-size', 'x-repo-commit', 'content-type']) {
      const v = res.headers[k]
      if (typeof v === 'string') keep[k] = v
    }
    const digest = SHA256.test(linkedEtag) ? `sha256:${linkedEtag}` : undefined
    if (res.statusCode >= 300 && res.statusCode < 400 && linkedSize != null) {
      return { contentLength: Number(linkedSize), supportsRange: true, headers: keep, digest, finalUrl: resolve }
    }
    // a small (non-LFS) file is answered by the hub itself, or a relative redirect (renamed repo) needs following
    const probe = await statFromProbe(resolve, await this.http.send(resolve, { headers: { ...this.headers(headers), range: 'bytes=0-0' }, signal }))
    return { ...probe, headers: { ...probe.headers, ...keep }, digest }
  }

  async get (url: string, headers: Record<string, string>, options: GetOptions): Promise<GetResult> {
    const resolve = this.resolveUrl(fileRef(url))
    try {
      // the redirect to the CDN is followed; undici drops Authorization when the origin changes
      return await this.http.get(resolve, this.headers(headers), options)
    } catch (err) {
      if (err instanceof OriginError && err.originStatus != null) check(err.originStatus, resolve)
      throw err
    }
  }

  /**
   * The files under an hf:// URL (one for a file path, all of them for a repo or a
   * directory), each pinned to the commit the revision points at now, so a branch
   * moving mid-download cannot mix two versions.
   */
  async list (url: string, headers: Record<string, string>, options: ListOptions = {}): Promise<ObjectEntry[]> {
    const { signal, recursive = false } = options
    const ref = parseHfUrl(url)
    if (!recursive && ref.path === '') throw new InvalidRequestError(`${url} names a whole repository: use -r and -O <directory>`)
    const h = { ...this.headers(headers), accept: 'application/json' }
    const pinned = { ...ref, revision: COMMIT.test(ref.revision) ? ref.revision : await this.commitOf(ref, h, signal) }
    const toEntry = (e: TreeEntry, rel: string): ObjectEntry => ({
      url: formatHfUrl({ ...pinned, path: e.path }),
      path: rel,
      contentLength: e.lfs?.size ?? e.size ?? -1,
      digest: e.lfs != null && SHA256.test(e.lfs.oid) ? `sha256:${e.lfs.oid}` : undefined
    })
    if (ref.path !== '') {
      const infoUrl = this.apiUrl(pinned, 'paths-info')
      const res = await this.http.send(infoUrl, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify({ paths: [ref.path], expand: false }), signal })
      const infos = await json<TreeEntry[]>(res, infoUrl)
      const info = infos.find((e) => e.path === ref.path)
      if (info == null) throw new OriginError(`${ref.repo} has no ${ref.path} at ${ref.revision}`, 404)
      if (info.type === 'file') return [toEntry(info, ref.path.split('/').pop()!)]
      if (!recursive) throw new InvalidRequestError(`${url} names a directory: use -r and -O <directory>`)
    }
    const entries: ObjectEntry[] = []
    let next: string | undefined = `${this.apiUrl(pinned, 'tree', ref.path)}?recursive=true&expand=false`
    while (next != null) {
      const res = await this.http.send(next, { headers: h, signal })
      const link = String(res.headers.link ?? '')
      const page: TreeEntry[] = await json<TreeEntry[]>(res, next)
      for (const e of page) {
        if (e.type !== 'file') continue
        const rel = ref.path === '' ? e.path : e.path.slice(ref.path.length + 1)
        entries.push(toEntry(e, rel))
      }
      next = /<([^>]+)>\s*;\s*rel="next"/.exec(link)?.[1]
    }
    return entries
  }

  private async commitOf (ref: HfRef, headers: Record<string, string>, signal?: AbortSignal): Promise<string> {
    const url = `${this.endpoint}/api/${ref.type}/${ref.repo}/revision/${encodeURIComponent(ref.revision)}`
    const info = await json<{ sha?: string }>(await this.http.send(url, { headers, signal }), url)
    if (typeof info.sha !== 'string' || !COMMIT.test(info.sha)) throw new OriginError(`hub sent no commit for ${ref.repo}@${ref.revision}`)
    return info.sha
  }
}

function fileRef (url: string): HfRef {
  const ref = parseHfUrl(url)
  if (ref.path === '') throw new InvalidUrlError(`${url} names a whole repository: list it (damselfly get -r) to download its files`)
  return ref
}

export function check (status: number, url: string, hint = 'gated or private repo? set HF_TOKEN or --hf-token'): void {
  if (status === 401 || status === 403) {
    throw new OriginAuthError(`hub refused ${redactUrl(url)} (${status}): ${hint}`, status)
  }
  if (status >= 400) throw new OriginError(`hub answered ${status} for ${redactUrl(url)}`, status)
}

async function json<T> (res: { statusCode: number, body: { json: () => Promise<unknown>, dump: () => Promise<void> } }, url: string): Promise<T> {
  if (res.statusCode !== 200) {
    await res.body.dump().catch(() => {})
    check(res.statusCode, url)
    throw new OriginError(`hub answered ${res.statusCode} for ${redactUrl(url)}`, res.statusCode)
  }
  return await res.body.json() as T
}

function unquote (s: string): string {
  return s.replace(/^W\//, '').replace(/^"|"$/g, '')
}

function encodePath (p: string): string {
  return p.split('/').map(encodeURIComponent).join('/')
}
