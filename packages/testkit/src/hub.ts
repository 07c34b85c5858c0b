import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http'
import { createHash } from 'node:crypto'
import { parseRange } from '@damselfly/utils'
import type { AddressInfo } from 'node:net'

export interface HubRepo {
  /** `owner/name` */
  id: string
  /** @default 'model' */
  type?: 'model' | 'dataset'
  /** file path in the repo → content; paths are served as given, even hostile ones (`../x`) */
  files: Record<string, Uint8Array | string>
}

export interface HubInit {
  repos: HubRepo[]
  /** files at least this big are LFS files (sha256 oid, served through the CDN) @default 1024 */
  lfsThreshold?: number
  /** when set, the API and `resolve` want `Authorization: Bearer <token>` */
  token?: string
  /** tree entries per page; more pages are linked with `Link: <…>; rel="next"` @default 1000 */
  pageSize?: number
}

interface HubFile { path: string, data: Buffer, lfs: boolean, oid: string, sha256: string }
interface Repo { id: string, type: 'model' | 'dataset', sha: string, files: HubFile[] }

/**
 * A local stand-in for the Hugging Face hub with the real endpoints and
 * headers: revision info, the (paginated, recursive) tree, paths-info, and
 * `resolve`, which answers LFS files with a 302 to a separate CDN path
 * carrying `X-Linked-Etag` (the sha256) and `X-Linked-Size`, as the hub does.
 */
export class Hub {
  private server?: Server
  private readonly repos = new Map<string, Repo>()
  private readonly blobs = new Map<string, Buffer>()
  url = ''
  requests = 0
  /** body bytes sent for file contents (resolve + CDN) */
  bytesServed = 0
  readonly requestLog: Array<{ method: string, path: string, range?: string, auth: boolean }> = []

  constructor (private readonly init: HubInit) {
    const threshold = init.lfsThreshold ?? 1024
    for (const r of init.repos) {
      const files = Object.entries(r.files).map(([path, content]) => {
        const data = Buffer.from(content)
        const sha256 = createHash('sha256').update(data).digest('hex')
        const gitOid = createHash('sha1').update(`blob ${data.byteLength}\0`).update(data).digest('hex')
        const lfs = data.byteLength >= threshold
        if (lfs) this.blobs.set(sha256, data)
        return { path, data, lfs, oid: gitOid, sha256 }
      })
      const sha = createHash('sha1').update(r.id).update(files.map((f) => `${f.path}:${f.sha256}`).join('\n')).digest('hex')
      const type = r.type ?? 'model'
      this.repos.set(`${type}s/${r.id}`, { id: r.id, type, sha, files })
    }
  }

  /** the commit `main` points at */
  commit (id: string, type: 'model' | 'dataset' = 'model'): string { return this.repos.get(`${type}s/${id}`)!.sha }

  /** requests whose path starts with `prefix` (`/api/`, `/cdn/`, `/owner/repo/resolve/` …) */
  count (prefix: string, method?: string): number {
    return this.requestLog.filter((r) => r.path.startsWith(prefix) && (method == null || r.method === method)).length
  }

  async start (): Promise<string> {
    this.server = createServer((req, res) => { this.handle(req, res).catch(() => res.destroy()) })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this.url
  }

  async stop (): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve())
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x')
    const path = decodeURIComponent(u.pathname)
    const method = req.method ?? 'GET'
    this.requests++
    this.requestLog.push({ method, path, range: req.headers.range, auth: req.headers.authorization != null })
    const body = method === 'POST' ? await readBody(req) : ''

    let m = /^\/cdn\/([0-9a-f]{64})$/.exec(path)
    if (m != null) { this.send(req, res, this.blobs.get(m[1]), { etag: `"${m[1]}"` }); return }

    if (this.init.token != null && req.headers.authorization !== `Bearer ${this.init.token}`) {
      error(res, 401, 'Invalid credentials in Authorization header', 'RepoNotFound')
      return
    }

    // ModelScope's API (the one its Python SDK calls) over the same model repos
    m = /^\/api\/v1\/models\/([^/]+\/[^/]+)\/repo(\/files)?$/.exec(path)
    if (m != null) { this.modelScope(req, res, u, m[1], m[2] != null); return }

    m = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/(revision|tree|paths-info)\/(.+)$/.exec(path)
    if (m != null) {
      const repo = this.repos.get(`${m[1]}/${m[2]}`)
      if (repo == null) { error(res, 404, 'Repository not found', 'RepoNotFound'); return }
      const [rev, ...rest] = splitRevision(m[4], repo)
      if (rev == null) { error(res, 404, `Invalid rev id: ${m[4]}`, 'RevisionNotFound'); return }
      const sub = rest.join('/')
      if (m[3] === 'revision' && method === 'GET') {
        json(res, { id: repo.id, sha: repo.sha, private: this.init.token != null, siblings: repo.files.map((f) => ({ rfilename: f.path })) })
      } else if (m[3] === 'tree' && method === 'GET') {
        this.tree(res, u, repo, sub)
      } else if (m[3] === 'paths-info' && method === 'POST') {
        const paths = pathsOf(body, String(req.headers['content-type'] ?? ''))
        const out: unknown[] = []
        for (const p of paths) {
          const f = repo.files.find((x) => x.path === p)
          if (f != null) out.push(entry(f))
          else if (repo.files.some((x) => x.path.startsWith(p + '/'))) out.push({ type: 'directory', oid: sha1(p), size: 0, path: p })
        }
        json(res, out)
      } else {
        error(res, 405, 'method not allowed')
      }
      return
    }

    m = /^\/(datasets\/)?([^/]+\/[^/]+)\/resolve\/(.+)$/.exec(path)
    if (m != null && (method === 'GET' || method === 'HEAD')) {
      const repo = this.repos.get(`${m[1] != null ? 'datasets' : 'models'}/${m[2]}`)
      if (repo == null) { error(res, 404, 'Repository not found', 'RepoNotFound'); return }
      const [rev, ...rest] = splitRevision(m[3], repo)
      if (rev == null) { error(res, 404, 'Revision not found', 'RevisionNotFound'); return }
      const f = repo.files.find((x) => x.path === rest.join('/'))
      if (f == null) { error(res, 404, 'Entry not found', 'EntryNotFound'); return }
      const common = { 'x-repo-commit': repo.sha, 'access-control-expose-headers': 'X-Repo-Commit,X-Linked-Size,X-Linked-ETag,ETag,Content-Range,Location' }
      if (f.lfs) {
        res.writeHead(302, {
          ...common,
          location: `/cdn/${f.sha256}?X-Amz-Signature=${sha1(f.sha256 + String(Date.now())).slice(0, 16)}`,
          'x-linked-etag': `"${f.sha256}"`,
          'x-linked-size': String(f.data.byteLength),
          etag: `"${f.oid}"`,
          'content-length': 0
        }).end()
        return
      }
      this.send(req, res, f.data, { ...common, etag: `"${f.oid}"` })
      return
    }
    error(res, 404, 'not found')
  }

  private tree (res: ServerResponse, u: URL, repo: Repo, sub: string): void {
    const recursive = u.searchParams.get('recursive') === 'true' || u.searchParams.get('recursive') === '1'
    const prefix = sub === '' ? '' : sub + '/'
    if (sub !== '' && !repo.files.some((f) => f.path.startsWith(prefix))) { error(res, 404, `Entry not found: ${sub}`, 'EntryNotFound'); return }
    const items: Array<Record<string, unknown>> = []
    const dirs = new Set<string>()
    for (const f of repo.files) {
      if (!f.path.startsWith(prefix)) continue
      const rel = f.path.slice(prefix.length)
      const parts = rel.split('/')
      for (let i = 1; i < parts.length; i++) {
        const d = prefix + parts.slice(0, i).join('/')
        if ((recursive || i === 1) && !dirs.has(d)) { dirs.add(d); items.push({ type: 'directory', oid: sha1(d), size: 0, path: d }) }
      }
      if (recursive || parts.length === 1) items.push(entry(f))
    }
    const size = this.init.pageSize ?? 1000
    const cursor = Number(u.searchParams.get('cursor') ?? 0)
    const page = items.slice(cursor, cursor + size)
    const headers: Record<string, string> = {}
    if (cursor + size < items.length) {
      const next = new URL(u.toString().replace('http://x', this.url))
      next.searchParams.set('cursor', String(cursor + size))
      headers.link = `<${next.toString()}>; rel="next"`
    }
    json(res, page, headers)
  }

  /**
   * ModelScope: `GET /api/v1/models/{org}/{model}/repo/files?Revision=&Recursive=` answers
   * `{Code, Data: {Files: [{Name, Path, Type, Size, Sha256, Revision}]}}`; `GET
   * /api/v1/models/{org}/{model}/repo?Revision=&FilePath=` sends the file (ranged). The default
   * branch is `master`; the repo's commit is accepted as a revision too.
   */
  private modelScope (req: IncomingMessage, res: ServerResponse, u: URL, id: string, listing: boolean): void {
    const repo = this.repos.get(`models/${id}`)
    const revision = u.searchParams.get('Revision') ?? 'master'
    if (repo == null || (revision !== 'master' && revision !== repo.sha)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ Code: 404, Success: false, Message: `model ${id} or revision ${revision} not found` }))
      return
    }
    if (listing) {
      const recursive = u.searchParams.get('Recursive') === 'true'
      const files = repo.files.filter((f) => recursive || !f.path.includes('/'))
      const dirs = new Set(repo.files.filter((f) => f.path.includes('/')).map((f) => f.path.split('/')[0]))
      json(res, {
        Code: 200,
        Success: true,
        Data: {
          Files: [
            ...[...dirs].map((d) => ({ Name: d, Path: d, Type: 'tree', Size: 0, Sha256: '', Revision: repo.sha })),
            ...files.map((f) => ({ Name: f.path.split('/').pop(), Path: f.path, Type: 'blob', Size: f.data.byteLength, Sha256: f.sha256, Revision: repo.sha }))
          ]
        }
      })
      return
    }
    const file = repo.files.find((f) => f.path === u.searchParams.get('FilePath'))
    this.send(req, res, file?.data, { etag: `"${file?.sha256 ?? ''}"` })
  }

  private send (req: IncomingMessage, res: ServerResponse, data: Buffer | undefined, headers: Record<string, string>): void {
    if (data == null) { error(res, 404, 'not found'); return }
    const h: Record<string, string | number> = { ...headers, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' }
    let start = 0
    let end = data.byteLength - 1
    let status = 200
    if (req.headers.range != null) {
      const r = parseRange(req.headers.range, data.byteLength)
      if (r == null) { res.writeHead(416, { 'content-range': `bytes */${data.byteLength}` }).end(); return }
      start = r.start; end = r.end; status = 206
      h['content-range'] = `bytes ${start}-${end}/${data.byteLength}`
    }
    h['content-length'] = Math.max(0, end - start + 1)
    res.writeHead(status, h)
    if (req.method === 'HEAD') { res.end(); return }
    const slice = data.subarray(start, end + 1)
    this.bytesServed += slice.byteLength
    res.end(slice)
  }
}

export async function startHub (init: HubInit): Promise<Hub> {
  const h = new Hub(init)
  await h.start()
  return h
}

function entry (f: HubFile): Record<string, unknown> {
  return {
    type: 'file',
    oid: f.oid,
    size: f.data.byteLength,
    path: f.path,
    ...(f.lfs ? { lfs: { oid: f.sha256, size: f.data.byteLength, pointerSize: 134 } } : {})
  }
}

/** `main/sub/dir` or `<commit>/sub/dir` → [revision, …path]; undefined revision when unknown */
function splitRevision (s: string, repo: Repo): [string | undefined, ...string[]] {
  const parts = s.split('/')
  return parts[0] === 'main' || parts[0] === repo.sha ? [parts[0], ...parts.slice(1).filter((p) => p !== '')] : [undefined]
}

function pathsOf (body: string, type: string): string[] {
  if (type.includes('json')) {
    const p = (JSON.parse(body) as { paths?: string[] | string }).paths
    return Array.isArray(p) ? p : p != null ? [p] : []
  }
  return new URLSearchParams(body).getAll('paths')
}

function json (res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text)
}

function error (res: ServerResponse, status: number, message: string, code?: string): void {
  const text = JSON.stringify({ error: message })
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(code != null ? { 'x-error-code': code, 'x-error-message': message } : {}) }).end(text)
}

function sha1 (s: string): string { return createHash('sha1').update(s).digest('hex') }

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
