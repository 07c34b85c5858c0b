import { PieceRequest, PieceResponse, PieceStatus } from '@damselfly/proto'
import { lengthPrefixed, FrameReader, LIMIT_CHUNK_BYTES, type Logger, type RateLimiter } from '@damselfly/utils'
import { PieceTimeoutError } from '@damselfly/types'
import { Uint8ArrayList } from 'uint8arraylist'
import { MAX_REQUEST_BYTES, REQUEST_READER_BYTES, PIECE_PROTOCOL, HAVE_PROTOCOL, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_UPLOAD_BUFFER_BYTES, MAX_PIECE_BYTES, UPLOAD_SHARE_PER_PEER } from './constants.js'
import { UploadBudget } from './upload-budget.js'
import { checkGrant } from './grant.js'
import { streamLink, type PieceLink } from './piece-link.js'
import { DataChannelServer, type DataChannelKind, type DataChannelOffer } from './data-channel.js'
import type { PieceLookup, UploadListener } from './index.js'
import type { Libp2p, Stream } from '@libp2p/interface'

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
  /** takes back a buffer the lookup's store lent once nothing below us references it any more */
  release?: (buf: Uint8Array) => void
  /**
   * also serve pieces over data channels (see DataChannelMode); pieces are
   * always served over libp2p streams too, for clients without one
   */
  dataChannel?: { mode: DataChannelKind, host?: string, port?: number }
  /**
   * upload limit shared by every link, data channel or libp2p stream: while it is limited, piece
   * bodies leave in LIMIT_CHUNK_BYTES slices, each after its tokens (answer headers and
   * not-found answers are never held back)
   */
  rateLimit?: RateLimiter
  /**
   * scheduler identities whose grants this peer honours: when set, a piece is
   * served only to a requester presenting a valid grant for its task (a
   * cluster member the scheduler admitted to that task); undefined serves anyone
   */
  trustedSchedulers?: () => ReadonlySet<string>
}

/** pieces read from disk ahead of the one being sent, per link */
const READ_AHEAD = 3

/**
 * Answers piece requests in the order they arrive on a stream (a libp2p
 * stream or a data channel). The next pieces are read from disk while the
 * current one is still being sent.
 */
export class PieceServer {
  private readonly budget: UploadBudget
  private data?: DataChannelServer

  constructor (private readonly node: Libp2p, private readonly init: PieceServerInit) {
    this.budget = new UploadBudget(init.uploadBufferBytes ?? DEFAULT_UPLOAD_BUFFER_BYTES, UPLOAD_SHARE_PER_PEER)
  }

  /** the data channel's port, when it listens */
  get dataPort (): number | undefined { return this.data?.port }

  /** what a scheduler needs to make data channel tickets for us (see DataChannelServer.offer) */
  dataOffer (reachable?: string): DataChannelOffer | undefined { return this.data?.offer(reachable) }

  async start (): Promise<void> {
    const maxInbound = this.init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS
    await this.node.handle(PIECE_PROTOCOL, (stream, connection) => {
      this.serve(streamLink(stream, connection, REQUEST_READER_BYTES), connection.remotePeer.toString())
    }, { maxInboundStreams: maxInbound })
    await this.node.handle(HAVE_PROTOCOL, (stream) => {
      this.answerHave(stream).catch((err) => { stream.abort(err) })
    }, { maxInboundStreams: 16 })
    if (this.init.dataChannel != null) {
      this.data = new DataChannelServer(this.node, {
        ...this.init.dataChannel,
        maxConnections: maxInbound,
        log: this.init.log,
        onLink: (link, peer) => { this.serve(link, peer) }
      })
      await this.data.start()
    }
  }

  async stop (): Promise<void> {
    await this.data?.stop()
    await this.node.unhandle(PIECE_PROTOCOL)
    await this.node.unhandle(HAVE_PROTOCOL)
  }

  /** One question, one answer: the bitfield of the named task (empty when we have none of it). */
  private async answerHave (stream: Stream): Promise<void> {
    const frame = await new FrameReader(stream, MAX_REQUEST_BYTES).readFrame(MAX_REQUEST_BYTES)
    if (frame == null) { stream.abort(new Error('no request')); return }
    const store = await this.init.lookup(PieceRequest.decode(frame).taskId)
    stream.send(lengthPrefixed(store?.bitfield?.bytes ?? new Uint8Array(0)))
    await stream.close()
  }

  private serve (link: PieceLink, peer: string): void {
    // libp2p only enforces inactivity on raw sockets, not on muxed streams: a reader that stops
    // taking bytes (or a client that goes quiet) would otherwise hold its upload slot forever
    const idleMs = this.init.idleTimeoutMs ?? 30_000
    let lastActivity = Date.now()
    const touch = (): void => { lastActivity = Date.now() }
    link.onActivity(touch)
    const watchdog = setInterval(() => {
      if (Date.now() - lastActivity > idleMs) link.abort(new PieceTimeoutError(`piece stream idle for ${idleMs} ms`))
    }, Math.max(100, Math.min(1000, idleMs / 3)))
    watchdog.unref()
    this.serveRequests(link, peer, touch).catch((err) => {
      this.init.log.debug({ err, peer }, 'piece stream ended with error')
      link.abort(err)
    }).finally(() => { clearInterval(watchdog) })
  }

  private async serveRequests (link: PieceLink, peer: string, touch: () => void): Promise<void> {
    const reader = link.reader
    // grants already checked on this link, by task: a client sends the same one with every request
    const granted = new Map<string, { grant: Uint8Array, expires: number }>()
    const mayRead = async (req: PieceRequest): Promise<boolean> => {
      const trusted = this.init.trustedSchedulers?.()
      if (trusted == null) return true
      const seen = granted.get(req.taskId)
      if (seen != null && seen.expires > Date.now() && Buffer.from(seen.grant).equals(req.grant)) return true
      const why = await checkGrant(req.grant, peer, req.taskId, trusted)
      if (why != null) {
        this.init.log.debug({ peer, task: req.taskId, why }, 'piece request refused')
        return false
      }
      if (granted.size > 256) granted.clear()
      granted.set(req.taskId, { grant: req.grant, expires: Date.now() + 60_000 })
      return true
    }
    const load = async (req: PieceRequest): Promise<Job> => {
      if (!await mayRead(req)) return { taskId: req.taskId, index: req.index, reserved: 0, forbidden: true }
      const store = await this.init.lookup(req.taskId)
      if (store == null || !store.hasPiece(req.index)) return { taskId: req.taskId, index: req.index, reserved: 0 }
      // a task store knows its piece length; any other lookup is charged the largest piece
      const reserved = (store as { pieceLength?: number }).pieceLength ?? MAX_PIECE_BYTES
      await this.budget.acquire(reserved, peer)
      try {
        return { taskId: req.taskId, index: req.index, buf: await store.lendPiece(req.index, this.init.alloc ?? Buffer.allocUnsafeSlow), reserved }
      } catch (err) {
        this.budget.release(reserved, peer)
        throw err
      }
    }
    // requests are decoded one after the other; the pieces they ask for are
    // read from disk a few at a time while the current one is being sent, so
    // the link never waits for the disk (pieces are read with O_DIRECT, one
    // disk round trip each)
    let requests: Promise<unknown> = Promise.resolve()
    const nextJob = (): Promise<Job | undefined> => {
      const req = requests.then(async () => {
        const frame = await reader.readFrame(MAX_REQUEST_BYTES)
        return frame == null ? undefined : PieceRequest.decode(frame)
      })
      requests = req.catch(() => {})
      const job = req.then(async (r) => r == null ? undefined : await load(r))
      // awaited in turn by the loop below; an error must not go unhandled meanwhile
      job.catch(() => {})
      return job
    }
    const queue = Array.from({ length: READ_AHEAD + 1 }, nextJob)
    try {
      while (true) {
        const job = await queue.shift()!
        if (job == null) break
        queue.push(nextJob())
        try {
          await this.answer(link, job)
          touch()
        } finally {
          this.budget.release(job.reserved, peer)
        }
        if (job.buf != null) this.init.onUpload?.(job.taskId, peer, job.buf.byteLength, link.transport)
      }
    } catch (err) {
      // pieces read ahead for a stream that failed still hold their share of the budget
      for (const p of queue) p.then((job) => { if (job != null) this.budget.release(job.reserved, peer) }, () => {})
      throw err
    }
    await link.close()
  }

  private async answer (link: PieceLink, job: Job): Promise<void> {
    if (job.buf == null) {
      await link.send(lengthPrefixed(PieceResponse.encode({ index: job.index, status: job.forbidden === true ? PieceStatus.FORBIDDEN : PieceStatus.NOT_FOUND, length: 0 })))
      return
    }
    const head = lengthPrefixed(PieceResponse.encode({ index: job.index, status: PieceStatus.OK, length: job.buf.byteLength }))
    const limit = this.init.rateLimit
    if (limit?.limited !== true) {
      // unlimited: counted all the same, so the current upload rate is known
      void limit?.take(job.buf.byteLength)
      await link.sendPiece(head, job.buf, this.init.release)
      return
    }
    const body = job.buf
    const release = this.init.release
    for (let off = 0; off < body.byteLength; off += LIMIT_CHUNK_BYTES) {
      const slice = body.subarray(off, Math.min(body.byteLength, off + LIMIT_CHUNK_BYTES))
      await limit.take(slice.byteLength)
      const last = off + slice.byteLength >= body.byteLength
      // the piece's buffer goes back once its last slice has left (the slices leave in order)
      await link.sendPiece(off === 0 ? head : new Uint8ArrayList(), slice, last && release != null ? () => { release(body) } : undefined)
    }
  }
}

interface Job {
  taskId: string
  index: number
  /** absent: this daemon does not have the piece */
  buf?: Uint8Array
  /** upload budget held until the piece is sent */
  reserved: number
  /** refused: the requester presented no valid grant */
  forbidden?: boolean
}
