import { FrameReader, socketSource, sendWithBackpressure, type DirectSocketSource } from '@damselfly/utils'
import { maybeQueued } from './send-queue.js'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { Connection, Stream } from '@libp2p/interface'
import type { Socket } from 'node:net'

/**
 * One byte pipe carrying the piece protocol: a libp2p stream or a data
 * channel socket. The client's channels and the server's request loop speak
 * the protocol over either without knowing which.
 */
export interface PieceLink {
  readonly transport: Transport
  readonly reader: FrameReader
  readonly isOpen: boolean
  /** queues a small frame (a request) without waiting for the pipe */
  write: (data: Uint8Array | Uint8ArrayList) => void
  /** queues bytes; resolves once the pipe can take more */
  send: (data: Uint8Array | Uint8ArrayList) => Promise<void>
  /**
   * sends a piece answer; `release` gets `body` back once no queue below us
   * references it (never, when that cannot be known)
   */
  sendPiece: (head: Uint8ArrayList, body: Uint8Array, release?: (buf: Uint8Array) => void) => Promise<void>
  /** bytes moved in either direction */
  onActivity: (fn: () => void) => void
  onClose: (fn: (err?: Error) => void) => void
  close: () => Promise<void>
  abort: (err: Error) => void
}

/** what carries a link's bytes: a libp2p stream, or a data channel with or without TLS */
export type Transport = 'libp2p' | 'tls' | 'tcp'

/** how often, and how many times, a sent piece's buffer is checked before it is left to GC */
const RECYCLE_CHECK_MS = 50
const RECYCLE_CHECKS = 40

/** The piece protocol over a libp2p stream (Noise + yamux). */
export function streamLink (stream: Stream, connection: Connection, readerHighWaterMark: number): PieceLink {
  const reader = new FrameReader(stream, readerHighWaterMark)
  return {
    transport: 'libp2p',
    reader,
    get isOpen () { return stream.status === 'open' },
    write: (data) => { stream.send(data) },
    send: async (data) => { await sendWithBackpressure(stream, data) },
    sendPiece: async (head, body, release) => {
      // one send for head and body: a single pass through the muxer and encrypter
      head.append(body)
      await sendWithBackpressure(stream, head)
      if (release != null) recycleWhenSent(stream, connection, body, release)
    },
    onActivity: (fn) => {
      stream.addEventListener('message', fn)
      stream.addEventListener('drain', fn)
    },
    onClose: (fn) => { stream.addEventListener('close', (evt) => { fn(evt.error) }) },
    close: async () => { await stream.close().catch(() => { stream.abort(new Error('close failed')) }) },
    abort: (err) => { if (stream.status === 'open') stream.abort(err) }
  }
}

/**
 * Gives a sent piece's buffer back once no libp2p queue holds it. libp2p
 * does not say when it is done with bytes handed to send(), so the queues
 * are looked at a few times; every upload otherwise allocates a fresh
 * piece-sized ArrayBuffer, and V8 answered that off-heap growth with a full
 * GC every few pieces (transfer bench sender: 27 -> 8 full GCs per 512 MiB).
 */
function recycleWhenSent (stream: Stream, connection: Connection, buf: Uint8Array, release: (buf: Uint8Array) => void): void {
  let checks = 0
  const check = (): void => {
    const queued = maybeQueued(stream, connection, buf.buffer)
    if (queued === false) release(buf)
    // unknown internals, or stuck behind a stalled connection: leave it to GC
    else if (queued === true && ++checks < RECYCLE_CHECKS) setTimeout(check, RECYCLE_CHECK_MS).unref()
  }
  check()
}

/**
 * The piece protocol over a data channel socket (TLS or TCP). Node tells
 * when a write has left for the kernel, so a piece's buffer goes back to
 * the pool exactly then. A socket created with a DirectSocketSource's
 * `onread` receives piece bodies straight into their buffers.
 */
export function socketLink (socket: Socket, readerHighWaterMark: number, direct?: DirectSocketSource): PieceLink {
  const reader = new FrameReader(direct?.attach(socket) ?? socketSource(socket), readerHighWaterMark)
  if (direct != null) direct.reader = reader
  const transport: Transport = 'encrypted' in socket ? 'tls' : 'tcp'
  // errors reach the reader and onClose; without a listener node would throw them
  socket.on('error', () => {})
  const writable = async (ok: boolean): Promise<void> => {
    if (ok || socket.destroyed) return
    await new Promise<void>((resolve) => {
      const done = (): void => { socket.off('drain', done); socket.off('close', done); resolve() }
      socket.on('drain', done)
      socket.on('close', done)
    })
    if (socket.destroyed) throw new Error('data channel closed')
  }
  return {
    transport,
    reader,
    get isOpen () { return !socket.destroyed && socket.writable },
    write: (data) => { writeAll(socket, data) },
    send: async (data) => { await writable(writeAll(socket, data)) },
    sendPiece: async (head, body, release) => {
      // plain TCP: corked, head and body leave in one writev. Not over TLS: node's TLS layer
      // concatenates a corked writev into one fresh buffer first, a piece-sized copy per piece
      if (transport === 'tcp') socket.cork()
      // a rate-limited piece leaves in slices; only the first carries the answer header
      if (head.byteLength > 0) writeAll(socket, head)
      const ok = socket.write(body, (err) => { if (err == null) release?.(body) })
      if (transport === 'tcp') socket.uncork()
      await writable(ok)
    },
    onActivity: (fn) => {
      socket.on('data', fn)
      socket.on('drain', fn)
    },
    onClose: (fn) => {
      let error: Error | undefined
      socket.on('error', (err) => { error = err })
      socket.on('close', () => { fn(error) })
    },
    close: async () => {
      if (socket.destroyed) return
      const closed = new Promise<void>((resolve) => socket.once('close', () => { resolve() }))
      socket.end()
      // a peer that never closes its side must not keep us waiting
      const t = setTimeout(() => socket.destroy(), 5000)
      await closed
      clearTimeout(t)
    },
    abort: (err) => { socket.destroy(err) }
  }
}

/** frames other than piece bodies are a few bytes: one copy into one write is cheapest */
function writeAll (socket: Socket, data: Uint8Array | Uint8ArrayList): boolean {
  return socket.write(data instanceof Uint8Array ? data : data.subarray())
}
