import { createReadStream } from 'node:fs'
import { createHash, type Hash } from 'node:crypto'
import { once } from 'node:events'
import { parseRange, redactUrl, taskIdFor, type Logger } from '@damselfly/utils'
import { waitForMeta, waitForPiece, type Download } from '@damselfly/task-engine'
import { DigestMismatchError, RangeNotSatisfiableError, errorInfo } from '@damselfly/types'
import { sendError } from './http-headers.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TaskRequest } from '@damselfly/types'

/** The part of the peer engine the proxy needs. */
export interface TaskDownloader {
  download: (req: TaskRequest, onStarted?: (d: Download) => void) => Promise<unknown>
}

export interface ServeTaskComponents {
  engine: TaskDownloader
  log: Logger
}

export interface ServeTaskOptions {
  request: TaskRequest
  /** sent with the content (etag, docker-content-digest, the hub's x-linked-* …) */
  headers?: Record<string, string>
}

/** Set when the client goes away: the task itself carries on for everybody else. */
class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError'
}

/** Bytes read from the piece file per chunk while streaming. */
const READ_CHUNK = 1024 * 1024

/**
 * Answers a GET / HEAD from a P2P task: headers as soon as the content length
 * is known, then the requested bytes in order, each run of pieces sent as
 * soon as it is verified and stored, while later pieces are still arriving.
 */
/** responses answered from a P2P task, for the proxy's request metrics */
export const servedByP2P = new WeakSet<ServerResponse>()

export async function serveTask (c: ServeTaskComponents, req: IncomingMessage, res: ServerResponse, opts: ServeTaskOptions): Promise<void> {
  servedByP2P.add(res)
  const gone = new AbortController()
  const onClose = (): void => { if (!res.writableFinished) gone.abort(new ClientGoneError('client disconnected')) }
  res.on('close', onClose)
  const log = c.log.child({ task: taskIdFor(opts.request) })
  try {
    const d = await startDownload(c.engine, opts.request)
    await waitForMeta(d, gone.signal)
    const size = d.store.contentLength
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...opts.headers, 'accept-ranges': 'bytes' }
    let range: { start: number, end: number } | undefined
    try {
      range = requestedRange(req, size, headers.etag)
    } catch (err) {
      if (!(err instanceof RangeNotSatisfiableError)) throw err
      res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-length': '0' }).end()
      return
    }
    const start = range?.start ?? 0
    const end = range?.end ?? size - 1
    headers['content-length'] = String(end - start + 1)
    if (range != null) headers['content-range'] = `bytes ${start}-${end}/${size}`
    res.writeHead(range != null ? 206 : 200, headers)
    log.debug({ url: redactUrl(opts.request.url), start, end }, 'serving from P2P')
    if (req.method === 'HEAD' || end < start) { res.end(); return }
    // the engine verifies pieces against the seed's manifest; this checks the seed's origin too
    const digest = opts.request.digest
    const hash = range == null && digest?.startsWith('sha256:') === true ? createHash('sha256') : undefined
    await streamRange(d, start, end, res, gone.signal, hash)
    if (hash != null) {
      const actual = `sha256:${hash.digest('hex')}`
      if (actual !== digest) {
        // too late for a status: cutting the connection keeps a client from taking the bytes as good
        const err = new DigestMismatchError(`content is ${actual}, expected ${digest}`)
        log.error({ err: errorInfo(err) }, 'task content does not match its digest')
        res.destroy(err)
        return
      }
    }
    res.end()
  } catch (err) {
    if (gone.signal.aborted) return
    log.warn({ err: errorInfo(err), url: redactUrl(opts.request.url) }, 'P2P answer failed')
    sendError(res, err)
  } finally {
    res.off('close', onClose)
  }
}

/** Joins (or starts) the task's download without waiting for it to finish. */
async function startDownload (engine: TaskDownloader, request: TaskRequest): Promise<Download> {
  const { promise, resolve, reject } = Promise.withResolvers<Download>()
  engine.download(request, resolve).catch(reject)
  return await promise
}

/**
 * A single `bytes=` range; anything else (several ranges, another unit, an
 * If-Range that does not match) is answered with the whole content, as
 * RFC 9110 allows.
 */
export function requestedRange (req: IncomingMessage, size: number, etag?: string): { start: number, end: number } | undefined {
  const header = req.headers.range
  if (header == null) return undefined
  const ifRange = req.headers['if-range']
  if (ifRange != null && ifRange !== etag) return undefined
  if (!/^bytes=\d*-\d*$/.test(header.trim())) return undefined
  const r = parseRange(header, size)
  if (r == null) throw new RangeNotSatisfiableError(`range ${header} is outside the ${size}-byte content`)
  return r
}

async function streamRange (d: Download, start: number, end: number, res: ServerResponse, signal: AbortSignal, hash?: Hash): Promise<void> {
  const store = d.store
  const pl = store.pieceLength
  const last = Math.floor(end / pl)
  let pos = start
  while (pos <= end) {
    const first = Math.floor(pos / pl)
    await waitForPiece(d, first, signal)
    // send every piece already stored in one read, not one wait per piece
    let upTo = first
    while (upTo < last && store.hasPiece(upTo + 1)) upTo++
    const runEnd = Math.min(end, (upTo + 1) * pl - 1)
    const file = createReadStream(store.dataPath, { start: pos, end: runEnd, highWaterMark: READ_CHUNK, signal })
    for await (const chunk of file) {
      hash?.update(chunk as Buffer)
      if (!res.write(chunk)) await once(res, 'drain', { signal })
    }
    pos = runEnd + 1
  }
}
