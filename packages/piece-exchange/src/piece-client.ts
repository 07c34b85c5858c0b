import { PieceRequest, PieceResponse, PieceStatus } from '@damselfly/proto'
import { FrameReader, lengthPrefixed, type Logger } from '@damselfly/utils'
import { PieceNotFoundError, PieceTimeoutError, ProtocolError } from '@damselfly/types'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { MAX_PIECE_BYTES, MAX_RESPONSE_HEADER_BYTES, PIECE_PROTOCOL, DEFAULT_PIECE_TIMEOUT_MS, DEFAULT_STREAMS_PER_PARENT } from './constants.js'
import type { Libp2p, Stream } from '@libp2p/interface'

export interface PieceClientInit {
  log: Logger
  /**
   * a parent that sends nothing for this long while we wait for a piece is dropped
   * @default 30000
   */
  pieceTimeoutMs?: number
  /** allocates the buffer a piece is received into (so it can be moved to a hashing worker) */
  alloc?: (length: number) => Uint8Array
  /**
   * streams opened to each parent; requests are spread over them so one
   * stream's flow-control round trips do not leave the connection idle
   * @default 2
   */
  streamsPerParent?: number
}

interface Pending {
  taskId: string
  index: number
  length: number
  resolve: (buf: Uint8Array) => void
  reject: (err: Error) => void
  cancelled: boolean
}

/**
 * One pipelined stream to one parent: requests go out as they are made,
 * answers come back in the same order.
 */
class Channel {
  private readonly pending: Pending[] = []
  private closed = false
  private lastActivity = Date.now()
  private readonly timer: NodeJS.Timeout

  constructor (private readonly stream: Stream, private readonly reader: FrameReader, private readonly init: PieceClientInit, private readonly onClose: () => void) {
    const timeout = init.pieceTimeoutMs ?? DEFAULT_PIECE_TIMEOUT_MS
    this.timer = setInterval(() => {
      if (this.pending.length > 0 && Date.now() - this.lastActivity > timeout) {
        this.fail(new PieceTimeoutError(`parent sent nothing for ${timeout} ms`))
      }
    }, Math.min(1000, timeout))
    this.timer.unref()
    stream.addEventListener('message', () => { this.lastActivity = Date.now() })
    stream.addEventListener('close', (evt) => { this.fail(evt.error ?? new ProtocolError('parent closed the stream')) })
    this.readLoop().catch((err) => { this.fail(err) })
  }

  get inflight (): number { return this.pending.length }
  get isOpen (): boolean { return !this.closed }

  request (taskId: string, index: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new ProtocolError('channel closed'))
    const p = Promise.withResolvers<Uint8Array>()
    const pending: Pending = { taskId, index, length, resolve: p.resolve, reject: p.reject, cancelled: false }
    if (this.pending.length === 0) this.lastActivity = Date.now()
    this.pending.push(pending)
    signal?.addEventListener('abort', () => {
      // answers arrive in order, so a cancelled one is still read, then dropped
      pending.cancelled = true
      p.reject(signal.reason ?? new Error('aborted'))
    }, { once: true })
    this.stream.send(lengthPrefixed(PieceRequest.encode({ taskId, index })))
    return p.promise
  }

  private async readLoop (): Promise<void> {
    while (!this.closed) {
      const frame = await this.reader.readFrame(MAX_RESPONSE_HEADER_BYTES)
      if (frame == null) throw new ProtocolError('parent closed the stream')
      const head = PieceResponse.decode(frame)
      const pending = this.pending[0]
      if (pending == null) throw new ProtocolError('parent sent an answer nobody asked for')
      if (head.index !== pending.index) throw new ProtocolError(`parent answered piece ${head.index}, expected ${pending.index}`)
      if (head.status !== PieceStatus.OK) {
        this.pending.shift()
        pending.reject(new PieceNotFoundError(`parent has no piece ${pending.index} (${PieceStatus[head.status] ?? head.status})`))
        continue
      }
      if (head.length !== pending.length || head.length > MAX_PIECE_BYTES) {
        throw new ProtocolError(`parent sent ${head.length} bytes for piece ${pending.index}, expected ${pending.length}`)
      }
      const buf = this.init.alloc?.(head.length) ?? Buffer.allocUnsafeSlow(head.length)
      await this.reader.readInto(buf)
      this.pending.shift()
      if (!pending.cancelled) pending.resolve(buf)
    }
  }

  fail (err: Error): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    for (const p of this.pending.splice(0)) p.reject(err)
    if (this.stream.status === 'open') this.stream.abort(err)
    this.onClose()
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    for (const p of this.pending.splice(0)) p.reject(new ProtocolError('channel closed'))
    await this.stream.close().catch(() => { this.stream.abort(new Error('close failed')) })
    this.onClose()
  }
}

/** Fetches pieces from parents over a few pipelined channels per parent. */
export class PieceClient {
  /** keyed by `${peerId}/${slot}` */
  private readonly channels = new Map<string, Promise<Channel>>()
  private readonly nextSlot = new Map<string, number>()
  private readonly streamsPerParent: number

  constructor (private readonly node: Libp2p, private readonly init: PieceClientInit) {
    this.streamsPerParent = Math.max(1, init.streamsPerParent ?? DEFAULT_STREAMS_PER_PARENT)
  }

  /** Requests piece `index` of `taskId` (exactly `length` bytes) from a parent. */
  async fetch (parent: { peerId: string, addrs: string[] }, taskId: string, index: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    // round robin: pieces are the same size, so the streams stay evenly loaded
    const slot = this.nextSlot.get(parent.peerId) ?? 0
    this.nextSlot.set(parent.peerId, (slot + 1) % this.streamsPerParent)
    const channel = await this.channel(parent, `${parent.peerId}/${slot}`, signal)
    return await channel.request(taskId, index, length, signal)
  }

  private async channel (parent: { peerId: string, addrs: string[] }, key: string, signal?: AbortSignal): Promise<Channel> {
    let p = this.channels.get(key)
    if (p != null) {
      const ch = await p.catch(() => undefined)
      if (ch?.isOpen === true) return ch
      if (this.channels.get(key) === p) this.channels.delete(key)
      p = this.channels.get(key)
      if (p != null) return await p
    }
    p = this.open(parent, key, signal)
    this.channels.set(key, p)
    p.catch(() => { if (this.channels.get(key) === p) this.channels.delete(key) })
    return await p
  }

  private async open (parent: { peerId: string, addrs: string[] }, key: string, signal?: AbortSignal): Promise<Channel> {
    const addrs: Multiaddr[] = parent.addrs.map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${parent.peerId}`))
    if (addrs.length === 0) throw new ProtocolError(`parent ${parent.peerId} has no addresses`)
    const stream = await this.node.dialProtocol(addrs, PIECE_PROTOCOL, { signal: signal ?? AbortSignal.timeout(10_000) })
    stream.maxReadBufferLength = MAX_PIECE_BYTES * 2
    const reader = new FrameReader(stream, MAX_PIECE_BYTES)
    const ch: Channel = new Channel(stream, reader, this.init, () => {
      if (this.channels.get(key) === current) this.channels.delete(key)
    })
    const current = this.channels.get(key)
    return ch
  }

  /** Drops every channel to a parent (it misbehaved or left). */
  drop (peerId: string, err: Error): void {
    for (let slot = 0; slot < this.streamsPerParent; slot++) {
      const key = `${peerId}/${slot}`
      const p = this.channels.get(key)
      this.channels.delete(key)
      p?.then((ch) => { ch.fail(err) }, () => {})
    }
    this.nextSlot.delete(peerId)
  }

  async stop (): Promise<void> {
    const all = await Promise.allSettled(this.channels.values())
    this.channels.clear()
    await Promise.all(all.map(async (r) => { if (r.status === 'fulfilled') await r.value.close() }))
  }
}
