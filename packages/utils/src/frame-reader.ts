import { Uint8ArrayList } from 'uint8arraylist'
import { MessageTooLargeError, ProtocolError } from '@damselfly/types'
import type { Stream } from '@libp2p/interface'
import type { Socket } from 'node:net'

/** What a FrameReader needs from a byte pipe: data and end pushed to it, and a way to stop the flow. */
export interface ByteSource {
  onData: (fn: (data: Uint8Array | Uint8ArrayList) => void) => void
  /** the pipe ended (cleanly when `err` is undefined) */
  onEnd: (fn: (err?: Error) => void) => void
  pause: () => void
  resume: () => void
  readonly paused: boolean
  /** bytes the source holds that it has not pushed yet (a paused libp2p stream's buffer) */
  pending?: () => number
}

/** A libp2p stream as a byte source. */
export function streamSource (stream: Stream): ByteSource {
  return {
    onData: (fn) => { stream.addEventListener('message', (evt) => { fn(evt.data) }) },
    onEnd: (fn) => {
      stream.addEventListener('close', (evt) => { fn(evt.error) })
      stream.addEventListener('remoteCloseWrite', () => { fn() })
    },
    pause: () => { if (stream.readStatus === 'readable') stream.pause() },
    resume: () => { stream.resume() },
    get paused () { return stream.readStatus === 'paused' },
    // the remote may close its side while a paused stream still holds what it sent before (and
    // yamux can report the close of a frame before its data): that is data, not the end yet
    pending: () => stream.readBufferLength
  }
}

/** A node socket (TCP or TLS) as a byte source. */
export function socketSource (socket: Socket): ByteSource {
  return {
    onData: (fn) => { socket.on('data', fn) },
    onEnd: (fn) => { endOf(socket, fn) },
    pause: () => { socket.pause() },
    resume: () => { socket.resume() },
    get paused () { return socket.isPaused() }
  }
}

function endOf (socket: Socket, fn: (err?: Error) => void): void {
  socket.on('end', () => { fn() })
  socket.on('close', () => { fn() })
  socket.on('error', (err) => { fn(err) })
}

/**
 * A socket source that reads straight into the buffer a FrameReader is
 * filling (node's `onread`): piece bodies go from the kernel (or OpenSSL)
 * into their piece buffer with no copy and no per-read allocation. Pass
 * `onread` when creating the socket, then `attach()` it.
 */
export class DirectSocketSource implements ByteSource {
  /** reader whose current readInto() target receives reads directly */
  reader?: FrameReader
  private socket?: Socket
  private dataFn?: (data: Uint8Array) => void
  private readonly scratch = Buffer.allocUnsafe(64 * 1024)
  /** the buffer node reads into next */
  private next: Uint8Array = this.scratch
  readonly onread = {
    buffer: (): Uint8Array => {
      this.next = this.reader?.sinkRegion() ?? this.scratch
      return this.next
    },
    callback: (n: number, buf: Uint8Array): boolean => {
      if (buf !== this.scratch && buf === this.next) this.reader?.sinkFilled(n)
      // the scratch buffer is reused by the next read: whoever keeps these bytes gets a copy
      else this.dataFn?.(Uint8Array.prototype.slice.call(buf, 0, n))
      return true
    }
  }

  attach (socket: Socket): this { this.socket = socket; return this }
  onData (fn: (data: Uint8Array) => void): void { this.dataFn = fn }
  onEnd (fn: (err?: Error) => void): void { endOf(this.sock, fn) }
  pause (): void { this.sock.pause() }
  resume (): void { this.sock.resume() }
  get paused (): boolean { return this.sock.isPaused() }
  private get sock (): Socket {
    if (this.socket == null) throw new Error('DirectSocketSource used before attach()')
    return this.socket
  }
}

/**
 * Reads varint-length-prefixed frames and raw byte runs from a libp2p stream
 * or a socket.
 *
 * Both push data; we buffer at most `highWaterMark` bytes and pause the
 * source beyond that, so a fast sender cannot make us buffer without bound.
 * Raw runs (piece bodies) are copied straight into the caller's buffer,
 * never accumulated.
 */
export class FrameReader {
  private readonly buf = new Uint8ArrayList()
  private waiter?: () => void
  private ended = false
  private error?: Error
  private sink?: { target: Uint8Array, filled: number, done: () => void }
  private readonly source: ByteSource

  constructor (source: Stream | ByteSource, private readonly highWaterMark = 8 * 1024 * 1024) {
    this.source = 'addEventListener' in source ? streamSource(source) : source
    this.source.onData((data) => { this.onData(data) })
    this.source.onEnd((err) => {
      this.ended = true
      if (err != null && this.error == null) this.error = err
      this.wake()
    })
  }

  private onData (data: Uint8Array | Uint8ArrayList): void {
    const sink = this.sink
    if (sink != null && this.buf.byteLength === 0) {
      // fast path: copy into the destination without touching the list
      const want = sink.target.byteLength - sink.filled
      const chunks = data instanceof Uint8Array ? [data] : [...data]
      let i = 0
      for (; i < chunks.length && sink.filled < sink.target.byteLength; i++) {
        const c = chunks[i]
        const n = Math.min(c.byteLength, sink.target.byteLength - sink.filled)
        sink.target.set(n === c.byteLength ? c : c.subarray(0, n), sink.filled)
        sink.filled += n
        if (n < c.byteLength) this.buf.append(c.subarray(n))
      }
      for (; i < chunks.length; i++) this.buf.append(chunks[i])
      if (want > 0 && sink.filled === sink.target.byteLength) { this.sink = undefined; sink.done() }
    } else {
      this.buf.append(data)
    }
    if (this.buf.byteLength > this.highWaterMark) this.source.pause()
    this.wake()
  }

  private wake (): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }

  /** no more bytes will come: the source ended and holds none it has not pushed */
  private get drained (): boolean {
    return this.ended && (this.source.pending?.() ?? 0) === 0
  }

  private async waitForData (): Promise<void> {
    if (this.error != null) throw this.error
    if (this.drained) throw new ProtocolError('stream ended')
    // wait first, then resume: resuming may deliver buffered messages at once, and their wake-up must not be lost
    const woken = new Promise<void>((resolve) => { this.waiter = resolve })
    if (this.source.paused) this.source.resume()
    await woken
  }

  /** Next frame, or undefined when the stream ended cleanly between frames. */
  async readFrame (maxLength: number): Promise<Uint8ArrayList | undefined> {
    while (true) {
      const header = decodeVarint(this.buf)
      if (header === 'invalid') throw new ProtocolError('invalid length prefix')
      if (header != null) {
        if (header.value > maxLength) throw new MessageTooLargeError(`frame of ${header.value} bytes exceeds ${maxLength}`)
        if (this.buf.byteLength >= header.bytes + header.value) {
          const frame = this.buf.sublist(header.bytes, header.bytes + header.value)
          this.buf.consume(header.bytes + header.value)
          return frame
        }
      }
      if (this.drained && this.buf.byteLength === 0 && this.error == null) return undefined
      await this.waitForData()
    }
  }

  /**
   * Where the next bytes may be written directly (a DirectSocketSource):
   * the unfilled part of the readInto() target, when nothing is buffered
   * ahead of it.
   */
  sinkRegion (): Uint8Array | undefined {
    const sink = this.sink
    if (sink == null || this.buf.byteLength > 0) return undefined
    return sink.target.subarray(sink.filled)
  }

  /**
   * `n` bytes were written at the front of sinkRegion(). No wake-up unless the read is complete:
   * readInto() waits on the sink itself, and over TLS this runs once per 16 KiB record.
   */
  sinkFilled (n: number): void {
    const sink = this.sink
    if (sink == null) throw new ProtocolError('bytes written to a read that is not pending')
    sink.filled += n
    if (sink.filled === sink.target.byteLength) { this.sink = undefined; sink.done() }
  }

  /** Fills `target` completely with the next bytes of the stream. */
  async readInto (target: Uint8Array): Promise<void> {
    const fromBuf = Math.min(this.buf.byteLength, target.byteLength)
    let filled = 0
    if (fromBuf > 0) {
      for (const c of this.buf.sublist(0, fromBuf)) { target.set(c, filled); filled += c.byteLength }
      this.buf.consume(fromBuf)
    }
    if (filled === target.byteLength) return
    const done = new Promise<void>((resolve) => { this.sink = { target, filled, done: resolve } })
    while (this.sink != null) {
      await Promise.race([done, this.waitForData()])
    }
  }
}

/** Reads an unsigned LEB128 varint from the front of `buf` without consuming it. */
function decodeVarint (buf: Uint8ArrayList): { value: number, bytes: number } | undefined | 'invalid' {
  let value = 0
  let shift = 0
  for (let i = 0; i < buf.byteLength; i++) {
    const b = buf.get(i)
    value += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) return { value, bytes: i + 1 }
    shift += 7
    if (shift > 35) return 'invalid'
  }
  return undefined
}

export function encodeVarint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80) }
  out.push(n)
  return Uint8Array.from(out)
}

/** varint length prefix + payload as one list (no copy of the payload) */
export function lengthPrefixed (payload: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(encodeVarint(payload.byteLength), payload)
}
