import { PieceRequest, PieceResponse, PieceStatus } from '@damselfly/proto'
import { FrameReader, lengthPrefixed, sendWithBackpressure, type Logger } from '@damselfly/utils'
import { PieceTimeoutError } from '@damselfly/types'
import { MAX_REQUEST_BYTES, PIECE_PROTOCOL, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_UPLOAD_BUFFER_BYTES, MAX_PIECE_BYTES } from './constants.js'
import { UploadBudget } from './upload-budget.js'
import { maybeQueued } from './send-queue.js'
import type { PieceLookup, UploadListener } from './index.js'
import type { Libp2p, Stream, Connection } from '@libp2p/interface'

export interface PieceServerInit {
  lookup: PieceLookup
  onUpload?: UploadListener
  log: Logger
  /** @default 64 */
  maxInboundStreams?: number
  /**
   * a stream whose reader takes no bytes for this long is dropped, so slow
   * readers cannot hold upload slots forever
   * @default 30000
   */
  idleTimeoutMs?: number
  /**
   * piece bytes all upload streams together hold in memory at once (a seed
   * with 8 children on 2 streams each keeps one piece sending and one read ahead
   * per stream with 4 MiB pieces)
   * @default 134217728
   */
  uploadBufferBytes?: number
  /** allocates the buffer a piece is read into (a pool, so uploads do not churn fresh memory) */
  alloc?: (length: number) => Uint8Array
  /** takes back a buffer once no libp2p queue references it any more */
  release?: (buf: Uint8Array) => void
}

/** how often, and how many times, a sent piece's buffer is checked before it is left to GC */
const RECYCLE_CHECK_MS = 50
const RECYCLE_CHECKS = 40

/**
 * Answers piece requests in the order they arrive on a stream. The next
 * piece is read from disk while the current one is still being sent.
 */
export class PieceServer {
  private readonly budget: UploadBudget

  constructor (private readonly node: Libp2p, private readonly init: PieceServerInit) {
    this.budget = new UploadBudget(init.uploadBufferBytes ?? DEFAULT_UPLOAD_BUFFER_BYTES)
  }

  async start (): Promise<void> {
    await this.node.handle(PIECE_PROTOCOL, (stream, connection) => {
      this.serve(stream, connection).catch((err) => {
        this.init.log.debug({ err, peer: connection.remotePeer.toString() }, 'piece stream ended with error')
        stream.abort(err)
      })
    }, { maxInboundStreams: this.init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS })
  }

  async stop (): Promise<void> {
    await this.node.unhandle(PIECE_PROTOCOL)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    // libp2p only enforces inactivity on raw sockets, not on muxed streams: a reader that stops
    // taking bytes (or a client that goes quiet) would otherwise hold its upload slot forever
    const idleMs = this.init.idleTimeoutMs ?? 30_000
    let lastActivity = Date.now()
    const touch = (): void => { lastActivity = Date.now() }
    stream.addEventListener('message', touch)
    stream.addEventListener('drain', touch)
    const watchdog = setInterval(() => {
      if (Date.now() - lastActivity > idleMs) stream.abort(new PieceTimeoutError(`piece stream idle for ${idleMs} ms`))
    }, Math.max(100, Math.min(1000, idleMs / 3)))
    watchdog.unref()
    try {
      await this.serveRequests(stream, connection, peer, touch)
    } finally {
      clearInterval(watchdog)
    }
  }

  private async serveRequests (stream: Stream, connection: Connection, peer: string, touch: () => void): Promise<void> {
    const reader = new FrameReader(stream, 64 * 1024)
    // the next request is decoded and its piece read from disk while the
    // current one is still being sent, so the link never waits for the disk
    const nextJob = async (): Promise<Job | undefined> => {
      const frame = await reader.readFrame(MAX_REQUEST_BYTES)
      if (frame == null) return undefined
      const req = PieceRequest.decode(frame)
      const store = await this.init.lookup(req.taskId)
      if (store == null || !store.hasPiece(req.index)) return { taskId: req.taskId, index: req.index, reserved: 0 }
      // a task store knows its piece length; any other lookup is charged the largest piece
      const reserved = (store as { pieceLength?: number }).pieceLength ?? MAX_PIECE_BYTES
      await this.budget.acquire(reserved)
      try {
        return { taskId: req.taskId, index: req.index, buf: await store.readPiece(req.index, this.init.alloc), reserved }
      } catch (err) {
        this.budget.release(reserved)
        throw err
      }
    }
    let pending = nextJob()
    try {
      while (true) {
        const job = await pending
        if (job == null) break
        pending = nextJob()
        // settled by the next turn of the loop; an error there must not go unhandled meanwhile
        pending.catch(() => {})
        try {
          await this.answer(stream, job)
          touch()
        } finally {
          this.budget.release(job.reserved)
        }
        if (job.buf != null) {
          this.init.onUpload?.(job.taskId, peer, job.buf.byteLength)
          this.recycle(stream, connection, job.buf)
        }
      }
    } catch (err) {
      // a piece read ahead for a stream that failed still holds its share of the budget
      pending.then((job) => { if (job != null) this.budget.release(job.reserved) }, () => {})
      throw err
    }
    await stream.close()
  }

  /**
   * Gives a sent piece's buffer back to the pool once no libp2p queue holds
   * it. Every upload otherwise allocates a fresh piece-sized ArrayBuffer that
   * lives long enough to be promoted, and V8 answered that off-heap growth
   * with a full GC every few pieces (transfer bench sender: 27 -> 8 full GCs
   * per 512 MiB).
   */
  private recycle (stream: Stream, connection: Connection, buf: Uint8Array): void {
    const release = this.init.release
    if (release == null) return
    let checks = 0
    const check = (): void => {
      const queued = maybeQueued(stream, connection, buf.buffer)
      if (queued === false) release(buf)
      // unknown internals, or stuck behind a stalled connection: leave it to GC
      else if (queued === true && ++checks < RECYCLE_CHECKS) setTimeout(check, RECYCLE_CHECK_MS).unref()
    }
    check()
  }

  private async answer (stream: Stream, job: Job): Promise<void> {
    if (job.buf == null) {
      await sendWithBackpressure(stream, lengthPrefixed(PieceResponse.encode({ index: job.index, status: PieceStatus.NOT_FOUND, length: 0 })))
      return
    }
    const head = lengthPrefixed(PieceResponse.encode({ index: job.index, status: PieceStatus.OK, length: job.buf.byteLength }))
    // one send for head and body: a single pass through the muxer and encrypter
    head.append(job.buf)
    await sendWithBackpressure(stream, head)
  }
}

interface Job {
  taskId: string
  index: number
  /** absent: this daemon does not have the piece */
  buf?: Uint8Array
  /** upload budget held until the piece is sent */
  reserved: number
}
