import { PieceRequest, PieceResponse, PieceStatus } from '@damselfly/proto'
import { FrameReader, lengthPrefixed, sendWithBackpressure, type Logger } from '@damselfly/utils'
import { PieceTimeoutError } from '@damselfly/types'
import { MAX_REQUEST_BYTES, PIECE_PROTOCOL, DEFAULT_MAX_INBOUND_STREAMS } from './constants.js'
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
}

/**
 * Answers piece requests in the order they arrive on a stream. The next
 * piece is read from disk while the current one is still being sent.
 */
export class PieceServer {
  constructor (private readonly node: Libp2p, private readonly init: PieceServerInit) {}

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
      await this.serveRequests(stream, peer, touch)
    } finally {
      clearInterval(watchdog)
    }
  }

  private async serveRequests (stream: Stream, peer: string, touch: () => void): Promise<void> {
    const reader = new FrameReader(stream, 64 * 1024)
    while (true) {
      const frame = await reader.readFrame(MAX_REQUEST_BYTES)
      if (frame == null) break
      const req = PieceRequest.decode(frame)
      const store = await this.init.lookup(req.taskId)
      if (store == null || !store.hasPiece(req.index)) {
        await sendWithBackpressure(stream, lengthPrefixed(PieceResponse.encode({ index: req.index, status: PieceStatus.NOT_FOUND, length: 0 })))
        continue
      }
      const buf = await store.readPiece(req.index)
      await sendWithBackpressure(stream, lengthPrefixed(PieceResponse.encode({ index: req.index, status: PieceStatus.OK, length: buf.byteLength })))
      await sendWithBackpressure(stream, buf)
      touch()
      this.init.onUpload?.(req.taskId, peer, buf.byteLength)
    }
    await stream.close()
  }
}
