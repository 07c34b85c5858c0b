import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { parseRange } from '@damselfly/utils'
import { TokenBucket } from './token-bucket.js'
import type { AddressInfo } from 'node:net'

export interface OriginInit {
  /** files served, by URL path */
  files: Record<string, string>
  /** aggregate send rate cap across all clients, bytes/s (a token bucket); none = unlimited */
  rateBytesPerSec?: number
  /** lets a test inject faults: return true when it has answered the request itself */
  intercept?: (req: IncomingMessage, res: ServerResponse, path: string) => boolean
  /** @default '127.0.0.1' (docker-compose's hub listens on 0.0.0.0) */
  host?: string
  /** @default 0 (any free port) */
  port?: number
}

/**
 * A real HTTP origin on 127.0.0.1 for tests, the demo and benchmarks:
 * Range support, and a count of every body byte it sends.
 */
export class Origin {
  private server?: Server
  bytesServed = 0
  requests = 0
  readonly requestLog: Array<{ method: string, path: string, range?: string }> = []
  private bucket?: TokenBucket
  url = ''

  constructor (private readonly init: OriginInit) {
    if (init.rateBytesPerSec != null) this.bucket = new TokenBucket(init.rateBytesPerSec)
  }

  async start (): Promise<string> {
    this.server = createServer((req, res) => { this.handle(req, res).catch(() => res.destroy()) })
    this.server.keepAliveTimeout = 5000
    const host = this.init.host ?? '127.0.0.1'
    await new Promise<void>((resolve) => this.server!.listen(this.init.port ?? 0, host, resolve))
    this.url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${(this.server.address() as AddressInfo).port}`
    return this.url
  }

  async stop (): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve())
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    this.requests++
    this.requestLog.push({ method: req.method ?? '', path, range: req.headers.range })
    if (this.init.intercept?.(req, res, path) === true) return
    const file = this.init.files[path]
    if (file == null) { res.writeHead(404).end('not found'); return }
    const size = (await stat(file)).size
    let start = 0
    let end = size - 1
    let status = 200
    const headers: Record<string, string | number> = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream', etag: `"${size}"` }
    if (req.headers.range != null) {
      const r = parseRange(req.headers.range, size)
      if (r == null) { res.writeHead(416, { 'content-range': `bytes */${size}` }).end(); return }
      start = r.start; end = r.end; status = 206
      headers['content-range'] = `bytes ${start}-${end}/${size}`
    }
    headers['content-length'] = end - start + 1
    res.writeHead(status, headers)
    if (req.method === 'HEAD' || size === 0) { res.end(); return }
    const stream = createReadStream(file, { start, end, highWaterMark: 256 * 1024 })
    for await (const chunk of stream) {
      const buf = chunk as Buffer
      if (this.bucket != null) await this.bucket.take(buf.byteLength)
      if (res.destroyed) { stream.destroy(); return }
      this.bytesServed += buf.byteLength
      if (!res.write(buf)) await new Promise<void>((resolve) => { const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }; res.on('drain', done); res.on('close', done) })
    }
    res.end()
  }
}

export async function startOrigin (init: OriginInit): Promise<Origin> {
  const o = new Origin(init)
  await o.start()
  return o
}
