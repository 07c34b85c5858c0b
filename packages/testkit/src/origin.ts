import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { open, stat } from 'node:fs/promises'
import { parseRange, RateLimiter } from '@damselfly/utils'
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
  /** serve HTTPS with this certificate and key (PEM) */
  tls?: { cert: string, key: string }
}

/**
 * A real HTTP origin on 127.0.0.1 for tests, the demo and benchmarks:
 * Range support, and a count of every body byte it sends.
 */
export class Origin {
  private server?: Server
  bytesServed = 0
  /** performance.now() when the first and the latest body byte were sent (benchmarks split start-up from tail) */
  firstByteAt?: number
  lastByteAt?: number
  requests = 0
  /**
   * body fetches being answered now (from arrival until the answer is done or the client left):
   * GETs for more than a `bytes=0-0` probe, which (like a HEAD) only asks for the headers
   */
  fetchesInFlight = 0
  /** the most body fetches in flight at once since start or the last resetPeak() */
  peakFetchesInFlight = 0
  readonly requestLog: Array<{ method: string, path: string, range?: string }> = []
  private bucket?: RateLimiter
  url = ''

  constructor (private readonly init: OriginInit) {
    if (init.rateBytesPerSec != null) this.bucket = new RateLimiter(init.rateBytesPerSec)
  }

  async start (): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => { this.handle(req, res).catch(() => res.destroy()) }
    this.server = this.init.tls != null ? createHttpsServer(this.init.tls, handler) : createServer(handler)
    this.server.keepAliveTimeout = 5000
    const host = this.init.host ?? '127.0.0.1'
    await new Promise<void>((resolve) => this.server!.listen(this.init.port ?? 0, host, resolve))
    this.url = `${this.init.tls != null ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${(this.server.address() as AddressInfo).port}`
    return this.url
  }

  /** starts counting the peak of concurrent body fetches afresh (from those in flight now) */
  resetPeak (): void { this.peakFetchesInFlight = this.fetchesInFlight }

  async stop (): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve())
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    this.requests++
    if (req.method === 'GET' && req.headers.range !== 'bytes=0-0') {
      this.fetchesInFlight++
      this.peakFetchesInFlight = Math.max(this.peakFetchesInFlight, this.fetchesInFlight)
      res.once('close', () => { this.fetchesInFlight-- })
    }
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
    await this.sendBody(file, start, end + 1, res)
    res.end()
  }

  /**
   * Sends [start, end) of `file` through a few reused buffers: a benchmark's origin shares the
   * machine with what it measures, and a fresh 256 KiB chunk per read made it collect garbage
   * for a whole CPU second per GiB served. Chunks are as large as the rate cap's burst allows
   * (up to 1 MiB): with 256 KiB ones, on a CPU-saturated machine the read-pace-write loop itself
   * fell behind the cap (swarm bench: 89 MiB/s of a 100 MiB/s cap; 95 with 1 MiB).
   */
  private async sendBody (file: string, start: number, end: number, res: ServerResponse): Promise<void> {
    const chunk = Math.floor(Math.min(BODY_CHUNK, this.bucket?.burst ?? BODY_CHUNK, end - start))
    const free = Array.from({ length: BODY_BUFFERS }, () => Buffer.allocUnsafeSlow(chunk))
    let wake: (() => void) | undefined
    const signal = (): void => { const w = wake; wake = undefined; w?.() }
    res.on('close', signal)
    const fh = await open(file)
    try {
      for (let pos = start; pos < end;) {
        while (free.length === 0) {
          if (res.destroyed) return
          await new Promise<void>((resolve) => { wake = resolve })
        }
        const buf = free.pop()!
        const { bytesRead } = await fh.read(buf, 0, Math.min(chunk, end - pos), pos)
        if (bytesRead === 0) throw new Error(`${file} shrank while being served`)
        if (this.bucket != null) await this.bucket.take(bytesRead)
        if (res.destroyed) return
        this.bytesServed += bytesRead
        this.firstByteAt ??= performance.now()
        this.lastByteAt = performance.now()
        pos += bytesRead
        // the buffer is reusable once the socket has taken it
        res.write(buf.subarray(0, bytesRead), () => { free.push(buf); signal() })
      }
    } finally {
      res.off('close', signal)
      await fh.close()
    }
  }
}

const BODY_CHUNK = 1024 * 1024
const BODY_BUFFERS = 4

export async function startOrigin (init: OriginInit): Promise<Origin> {
  const o = new Origin(init)
  await o.start()
  return o
}
