import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { parseRange } from '@damselfly/utils'
import type { AddressInfo } from 'node:net'

export interface HubFile {
  /** path inside the repo */
  path: string
  /** the file on disk */
  file: string
  /** stored in LFS: resolve redirects to the CDN, X-Linked-Etag is its sha256 */
  lfs?: { sha256: string }
  /** git blob id (what ETag is for non-LFS files) */
  oid: string
}

export interface HubStubInit {
  repo: string
  commit: string
  files: HubFile[]
  /** resolve answers 401 without `Authorization: Bearer <token>` (a gated repo) */
  token?: string
  /** hub and CDN speak HTTPS with this certificate (PEM) */
  tls?: { cert: string, key: string }
  /**
   * the CDN's host in redirects @default '127.0.0.1'. huggingface_hub follows a redirect
   * to the hub's own host itself, so a CDN standing for another host needs another name
   */
  cdnHost?: string
}

/**
 * The Hugging Face hub endpoints `@huggingface/hub` downloads with, plus a
 * CDN on another origin that LFS files redirect to, counting the file bytes
 * it sends. Stands in for packages/testkit's hub until that lands.
 */
export class HubStub {
  private hub?: Server
  private cdn?: Server
  hubUrl = ''
  cdnUrl = ''
  cdnBytes = 0
  readonly log: Array<{ method: string, path: string, range?: string, auth: boolean }> = []

  constructor (private readonly init: HubStubInit) {}

  async start (): Promise<void> {
    const serve = (h: (req: IncomingMessage, res: ServerResponse) => void): Server => this.init.tls != null ? createHttpsServer(this.init.tls, h) : createServer(h)
    this.hub = serve((req, res) => { this.onHub(req, res).catch(() => res.destroy()) })
    this.cdn = serve((req, res) => { this.onCdn(req, res).catch(() => res.destroy()) })
    const scheme = this.init.tls != null ? 'https' : 'http'
    this.hubUrl = await listen(this.hub, scheme)
    this.cdnUrl = (await listen(this.cdn, scheme)).replace('127.0.0.1', this.init.cdnHost ?? '127.0.0.1')
  }

  async stop (): Promise<void> {
    for (const s of [this.hub, this.cdn]) {
      s?.closeAllConnections()
      await new Promise<void>((resolve) => s?.close(() => { resolve() }) ?? resolve())
    }
  }

  private entries (): Array<Record<string, unknown>> {
    return this.init.files.map((f) => ({ type: 'file', path: f.path, oid: f.oid, size: 0, ...(f.lfs != null ? { lfs: { oid: f.lfs.sha256, size: 0, pointerSize: 134 } } : {}) }))
  }

  private async sized (): Promise<Array<Record<string, unknown>>> {
    return await Promise.all(this.entries().map(async (e, i) => {
      const size = (await stat(this.init.files[i].file)).size
      return { ...e, size, ...(e.lfs != null ? { lfs: { ...(e.lfs as object), size } } : {}) }
    }))
  }

  private async onHub (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x')
    const path = decodeURIComponent(u.pathname)
    this.log.push({ method: req.method ?? '', path, range: req.headers.range, auth: req.headers.authorization != null })
    const { repo, commit } = this.init
    const json = (status: number, body: unknown): void => {
      const s = JSON.stringify(body)
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) }).end(s)
    }
    if (path === `/api/models/${repo}/revision/main` || path === `/api/models/${repo}/revision/${commit}`) {
      json(200, { id: repo, sha: commit, siblings: this.init.files.map((f) => ({ rfilename: f.path })) })
      return
    }
    if (path.startsWith(`/api/models/${repo}/tree/`)) { json(200, await this.sized()); return }
    if (req.method === 'POST' && path.startsWith(`/api/models/${repo}/paths-info/`)) { json(200, await this.sized()); return }
    const m = new RegExp(`^/${repo}/resolve/([^/]+)/(.+)$`).exec(path)
    if (m == null) { json(404, { error: 'not found' }); return }
    if (this.init.token != null && req.headers.authorization !== `Bearer ${this.init.token}`) {
      res.writeHead(401, { 'x-error-code': 'GatedRepo', 'content-type': 'application/json' }).end('{"error":"gated"}')
      return
    }
    if (m[1] !== 'main' && m[1] !== commit) { res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end(); return }
    const f = this.init.files.find((x) => x.path === m[2])
    if (f == null) { res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end(); return }
    const size = (await stat(f.file)).size
    if (f.lfs != null) {
      res.writeHead(302, {
        location: `${this.cdnUrl}/repos/${f.lfs.sha256}?X-Amz-Signature=stub`,
        etag: `"${f.lfs.sha256}"`,
        'x-linked-etag': `"${f.lfs.sha256}"`,
        'x-linked-size': String(size),
        'x-repo-commit': commit,
        'content-length': '0'
      }).end()
      return
    }
    await sendFile(req, res, f.file, { etag: `"${f.oid}"`, 'x-repo-commit': commit }, () => {})
  }

  private async onCdn (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x')
    const f = this.init.files.find((x) => x.lfs != null && u.pathname === `/repos/${x.lfs.sha256}`)
    if (f == null) { res.writeHead(404).end(); return }
    await sendFile(req, res, f.file, { etag: `"${f.lfs!.sha256}"` }, (n) => { this.cdnBytes += n })
  }
}

async function listen (s: Server, scheme: string): Promise<string> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  return `${scheme}://127.0.0.1:${(s.address() as AddressInfo).port}`
}

async function sendFile (req: IncomingMessage, res: ServerResponse, file: string, extra: Record<string, string>, count: (n: number) => void): Promise<void> {
  const size = (await stat(file)).size
  const headers: Record<string, string> = { ...extra, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' }
  let start = 0
  let end = size - 1
  let status = 200
  if (req.headers.range != null) {
    const r = parseRange(req.headers.range, size)
    if (r == null) { res.writeHead(416, { 'content-range': `bytes */${size}` }).end(); return }
    start = r.start; end = r.end; status = 206
    headers['content-range'] = `bytes ${start}-${end}/${size}`
  }
  headers['content-length'] = String(end - start + 1)
  res.writeHead(status, headers)
  if (req.method === 'HEAD' || size === 0) { res.end(); return }
  for await (const c of createReadStream(file, { start, end })) {
    count((c as Buffer).byteLength)
    if (!res.write(c)) await new Promise((resolve) => res.once('drain', resolve))
  }
  res.end()
}
