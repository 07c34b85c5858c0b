import { PieceRequest, PieceResponse, PieceStatus, type DataTicket } from '@damselfly/proto'
import { lengthPrefixed, FrameReader, type Logger } from '@damselfly/utils'
import { PieceNotFoundError, PieceTimeoutError, ProtocolError } from '@damselfly/types'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { raceSignal } from 'race-signal'
import { MAX_PIECE_BYTES, MAX_RESPONSE_HEADER_BYTES, PIECE_PROTOCOL, HAVE_PROTOCOL, DEFAULT_PIECE_TIMEOUT_MS, DEFAULT_STREAMS_PER_PARENT } from './constants.js'
import { streamLink, type PieceLink, type Transport } from './piece-link.js'
import { connectDataLink, openDataLink, type DataChannelMode } from './data-channel.js'
import type { Libp2p } from '@libp2p/interface'

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
  /**
   * fetch over a data channel when the parent offers one (`tcp`: plain TCP
   * to parents in this peer's node pool, TLS to the others); libp2p streams otherwise
   * @default 'off'
   */
  dataChannel?: DataChannelMode
  /** this peer's node pool: with `tcp`, only parents in it get plain TCP */
  pool?: string
}

/** a bitfield of the largest task the scheduler accepts (MAX_PIECES bits) fits easily */
const MAX_HAVE_BYTES = 1 << 20

/** a parent that could not give us a data channel is asked again after this long */
const DATA_RETRY_MS = 60_000

interface Pending {
  taskId: string
  index: number
  length: number
  resolve: (buf: Uint8Array) => void
  reject: (err: Error) => void
  cancelled: boolean
}

/**
 * One pipelined link to one parent: requests go out as they are made,
 * answers come back in the same order.
 */
class Channel {
  private readonly pending: Pending[] = []
  private closed = false
  private lastActivity = Date.now()
  private readonly timer: NodeJS.Timeout

  constructor (private readonly link: PieceLink, private readonly init: PieceClientInit, private readonly onClose: () => void) {
    const timeout = init.pieceTimeoutMs ?? DEFAULT_PIECE_TIMEOUT_MS
    this.timer = setInterval(() => {
      if (this.pending.length > 0 && Date.now() - this.lastActivity > timeout) {
        this.fail(new PieceTimeoutError(`parent sent nothing for ${timeout} ms`))
      }
    }, Math.min(1000, timeout))
    this.timer.unref()
    link.onActivity(() => { this.lastActivity = Date.now() })
    link.onClose((err) => { this.fail(err ?? new ProtocolError('parent closed the stream')) })
    this.readLoop().catch((err) => { this.fail(err) })
  }

  get inflight (): number { return this.pending.length }
  /** what carries this channel's bytes: a mismatch over plain `tcp` proves nothing about the parent */
  get transport (): Transport { return this.link.transport }
  get isOpen (): boolean { return !this.closed }

  request (taskId: string, index: number, length: number, signal?: AbortSignal, grant?: Uint8Array): Promise<Uint8Array> {
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
    this.link.write(lengthPrefixed(PieceRequest.encode({ taskId, index, grant: (grant ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer> })))
    return p.promise
  }

  private async readLoop (): Promise<void> {
    while (!this.closed) {
      const frame = await this.link.reader.readFrame(MAX_RESPONSE_HEADER_BYTES)
      if (frame == null) throw new ProtocolError('parent closed the stream')
      const head = PieceResponse.decode(frame)
      const pending = this.pending[0]
      if (pending == null) throw new ProtocolError('parent sent an answer nobody asked for')
      if (head.index !== pending.index) throw new ProtocolError(`parent answered piece ${head.index}, expected ${pending.index}`)
      if (head.status !== PieceStatus.OK) {
        this.pending.shift()
        pending.reject(new PieceNotFoundError(head.status === PieceStatus.FORBIDDEN
          ? `parent refused piece ${pending.index}: no valid grant for this task`
          : `parent has no piece ${pending.index} (${PieceStatus[head.status] ?? head.status})`))
        continue
      }
      if (head.length !== pending.length || head.length > MAX_PIECE_BYTES) {
        throw new ProtocolError(`parent sent ${head.length} bytes for piece ${pending.index}, expected ${pending.length}`)
      }
      const buf = this.init.alloc?.(head.length) ?? Buffer.allocUnsafeSlow(head.length)
      await this.link.reader.readInto(buf)
      this.pending.shift()
      if (!pending.cancelled) pending.resolve(buf)
    }
  }

  fail (err: Error): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    for (const p of this.pending.splice(0)) p.reject(err)
    this.link.abort(err)
    this.onClose()
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    for (const p of this.pending.splice(0)) p.reject(new ProtocolError('channel closed'))
    await this.link.close()
    this.onClose()
  }
}

/**
 * Fetches pieces from parents: over one data channel per parent when both
 * sides have them, else over a few pipelined libp2p streams per parent.
 */
export class PieceClient {
  /** keyed by `${peerId}/${slot}`, or `${peerId}/data` */
  private readonly channels = new Map<string, Promise<Channel>>()
  private readonly nextSlot = new Map<string, number>()
  /** parents that gave us no data channel, until when we stop asking */
  private readonly noData = new Map<string, number>()
  private readonly streamsPerParent: number
  /** ids of scheduler tickets already presented */
  private readonly usedTickets = new Set<string>()
  /** data channels opened, by where their ticket came from */
  readonly dataVia = { scheduler: 0, parent: 0 }

  constructor (private readonly node: Libp2p, private readonly init: PieceClientInit) {
    this.streamsPerParent = Math.max(1, init.streamsPerParent ?? DEFAULT_STREAMS_PER_PARENT)
  }

  /** how long a parent may send nothing while it holds our requests */
  get pieceTimeoutMs (): number { return this.init.pieceTimeoutMs ?? DEFAULT_PIECE_TIMEOUT_MS }

  /** Requests piece `index` of `taskId` (exactly `length` bytes) from a parent. */
  async fetch (parent: Parent, taskId: string, index: number, length: number, signal?: AbortSignal, grant?: Uint8Array, via?: { transport?: Transport }): Promise<Uint8Array> {
    const channel = await this.channelFor(parent, signal)
    if (via != null) via.transport = channel.transport
    return await channel.request(taskId, index, length, signal, grant)
  }

  /**
   * Which pieces of `taskId` a peer holds, asked of it directly (HAVE_PROTOCOL):
   * how pool members keep finding each other's pieces while the scheduler is
   * unreachable. Resolves with its bitfield bytes (empty: it has no such task).
   */
  async have (peer: Parent, taskId: string, signal: AbortSignal): Promise<Uint8Array> {
    const stream = await this.node.dialProtocol(addrsOf(peer), HAVE_PROTOCOL, { signal })
    try {
      stream.send(lengthPrefixed(PieceRequest.encode({ taskId, index: 0 })))
      const frame = await raceSignal(new FrameReader(stream, MAX_HAVE_BYTES).readFrame(MAX_HAVE_BYTES), signal)
      if (frame == null) throw new ProtocolError(`${peer.peerId} closed the have stream without an answer`)
      return frame.subarray()
    } finally {
      await stream.close().catch(() => { stream.abort(new Error('closing')) })
    }
  }

  /**
   * A channel to `parent`. Concurrent fetches share one opening, so it is not tied to any one of
   * them: a fetch that is cancelled (an endgame loser) stops waiting, and the opening goes on for
   * the others. (Tied to the first fetch's signal, its cancellation failed every fetch waiting on
   * the same opening, and the parent was then served over libp2p streams for a minute.)
   */
  private async channelFor (parent: Parent, signal?: AbortSignal): Promise<Channel> {
    const mode = this.init.dataChannel ?? 'off'
    if (mode !== 'off' && (this.noData.get(parent.peerId) ?? 0) < Date.now()) {
      try {
        const plain = mode === 'tcp' && parent.pool != null && parent.pool === (this.init.pool ?? 'default')
        return await raceSignal(this.channel(`${parent.peerId}/data`, async () => await this.openData(parent, plain)), signal)
      } catch (err: any) {
        if (signal?.aborted === true) throw err
        this.noData.set(parent.peerId, Date.now() + DATA_RETRY_MS)
        this.init.log.debug({ parent: parent.peerId, err: err.message }, 'no data channel to parent, using libp2p streams')
      }
    }
    // round robin: pieces are the same size, so the streams stay evenly loaded
    const slot = this.nextSlot.get(parent.peerId) ?? 0
    this.nextSlot.set(parent.peerId, (slot + 1) % this.streamsPerParent)
    return await raceSignal(this.channel(`${parent.peerId}/${slot}`, async () => {
      const opening = openSignal()
      const connection = await this.node.dial(addrsOf(parent), { signal: opening })
      const stream = await connection.newStream(PIECE_PROTOCOL, { signal: opening })
      stream.maxReadBufferLength = MAX_PIECE_BYTES * 2
      return streamLink(stream, connection, MAX_PIECE_BYTES)
    }), signal)
  }

  /**
   * A data channel to `parent`: with the ticket the scheduler sent for it, straight to its data
   * port (no libp2p connection: a swarm's peers would otherwise each pay a Noise handshake to
   * most of the others); without one, or when it fails, with a ticket the parent hands out over
   * libp2p.
   */
  private async openData (parent: Parent, plain: boolean): Promise<PieceLink> {
    const t = parent.ticket
    if (t != null && t.host !== '' && t.expires > Date.now() + 1000) {
      const id = Buffer.from(t.id).toString('hex')
      // single use: a channel that closed is reopened with the parent's own ticket
      if (!this.usedTickets.has(id)) {
        if (this.usedTickets.size >= 4096) this.usedTickets.clear()
        this.usedTickets.add(id)
        try {
          const link = await connectDataLink(t, t.host, this.node.peerId.toString(), plain, openSignal())
          this.dataVia.scheduler++
          return link
        } catch (err: any) {
          this.init.log.debug({ parent: parent.peerId, err: err.message }, 'the scheduler\'s ticket opened no data channel: asking the parent')
        }
      }
    }
    const link = await openDataLink(this.node, addrsOf(parent), plain, openSignal())
    this.dataVia.parent++
    return link
  }

  /** the open channel under `key`, or a new one over the link `open` makes */
  private async channel (key: string, open: () => Promise<PieceLink>): Promise<Channel> {
    let p = this.channels.get(key)
    if (p != null) {
      const ch = await p.catch(() => undefined)
      if (ch?.isOpen === true) return ch
      if (this.channels.get(key) === p) this.channels.delete(key)
      p = this.channels.get(key)
      if (p != null) return await p
    }
    const opening: Promise<Channel> = open().then((link) => new Channel(link, this.init, () => {
      if (this.channels.get(key) === opening) this.channels.delete(key)
    }))
    this.channels.set(key, opening)
    opening.catch(() => { if (this.channels.get(key) === opening) this.channels.delete(key) })
    return await opening
  }

  /** Drops every channel to a parent (it misbehaved or left). */
  drop (peerId: string, err: Error): void {
    for (const key of [`${peerId}/data`, ...Array.from({ length: this.streamsPerParent }, (_, slot) => `${peerId}/${slot}`)]) {
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

interface Parent {
  peerId: string
  addrs: string[]
  pool?: string
  /** a ticket for its data channel from the scheduler's plan (made for this peer) */
  ticket?: DataTicket
}

function addrsOf (parent: Parent): Multiaddr[] {
  const addrs = parent.addrs.map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${parent.peerId}`))
  if (addrs.length === 0) throw new ProtocolError(`parent ${parent.peerId} has no addresses`)
  return addrs
}

/** opening a link may take 10 s at most */
function openSignal (): AbortSignal {
  return AbortSignal.timeout(OPEN_TIMEOUT_MS)
}

const OPEN_TIMEOUT_MS = 10_000
