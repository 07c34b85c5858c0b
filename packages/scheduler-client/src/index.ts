import { EventEmitter } from 'node:events'
import { request } from 'undici'
import { multiaddr } from '@multiformats/multiaddr'
import { PeerMessage, SchedulerMessage, SCHEDULER_PROTOCOL, type Register, type TaskUpdate, type SeedRequest } from '@damselfly/proto'
import { FrameReader, lengthPrefixed, type Logger } from '@damselfly/utils'
import { SchedulerUnavailableError, UnauthorizedError } from '@damselfly/types'
import type { Libp2p, Stream } from '@libp2p/interface'

/** bitfields and digests of big tasks make updates large; anything past this is garbage */
export const MAX_SCHEDULER_MESSAGE_BYTES = 8 * 1024 * 1024

export interface SchedulerInfo {
  peerId: string
  addrs: string[]
}

export interface SchedulerClientInit {
  /** scheduler HTTP base URL, e.g. http://127.0.0.1:8002 */
  url: string
  log: Logger
  /** builds the Register message; called on every (re)connect so it carries current holdings */
  register: () => Register
  /** @default 500 */
  minBackoffMs?: number
  /** @default 5000 */
  maxBackoffMs?: number
}

export interface SchedulerClientEvents {
  update: [TaskUpdate]
  seed: [SeedRequest]
  preheat: [SeedRequest]
  connected: []
  disconnected: [Error | undefined]
}

/** What a download needs from its scheduler session(s). */
export interface SchedulerLink extends Pick<EventEmitter<SchedulerClientEvents>, 'on' | 'off'> {
  readonly connected: boolean
  waitConnected: (timeoutMs: number) => Promise<void>
  send: (msg: Partial<PeerMessage>) => boolean
}

/**
 * The peer's session with its scheduler: one long-lived stream, re-opened
 * with backoff whenever it drops. Every (re)connect re-registers what the
 * peer holds, so a restarted scheduler rebuilds its soft state from peers.
 */
export class SchedulerClient extends EventEmitter<SchedulerClientEvents> implements SchedulerLink {
  private stream?: Stream
  private stopped = true
  private connecting?: Promise<void>
  private backoff: number
  private retryTimer?: NodeJS.Timeout
  schedulerId?: string

  get url (): string { return this.init.url }

  constructor (private readonly node: Libp2p, private readonly init: SchedulerClientInit) {
    super()
    this.backoff = init.minBackoffMs ?? 500
  }

  get connected (): boolean { return this.stream?.status === 'open' && this.schedulerId != null }

  async start (): Promise<void> {
    this.stopped = false
    this.connect().catch(() => {})
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.retryTimer)
    const s = this.stream
    this.stream = undefined
    await s?.close().catch(() => s.abort(new Error('stopping')))
  }

  /** Resolves once connected, or rejects after `timeoutMs`. */
  async waitConnected (timeoutMs: number): Promise<void> {
    if (this.connected) return
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => { this.off('connected', ok); reject(new SchedulerUnavailableError(`scheduler ${this.init.url} not reachable within ${timeoutMs} ms`)) }, timeoutMs)
      const ok = (): void => { clearTimeout(t); resolve() }
      this.once('connected', ok)
    })
  }

  /** Sends a message; false when not connected (the caller decides what to do). */
  send (msg: Partial<PeerMessage>): boolean {
    const s = this.stream
    if (s == null || s.status !== 'open' || this.schedulerId == null) return false
    try {
      s.send(lengthPrefixed(PeerMessage.encode(msg)))
      return true
    } catch {
      return false
    }
  }

  private async connect (): Promise<void> {
    if (this.connecting != null) return await this.connecting
    this.connecting = (async () => {
      try {
        const info = await fetchSchedulerInfo(this.init.url)
        const addrs = info.addrs.map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${info.peerId}`))
        const stream = await this.node.dialProtocol(addrs, SCHEDULER_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
        stream.maxReadBufferLength = MAX_SCHEDULER_MESSAGE_BYTES * 2
        const reader = new FrameReader(stream, MAX_SCHEDULER_MESSAGE_BYTES)
        stream.send(lengthPrefixed(PeerMessage.encode({ register: this.init.register() })))
        const first = await reader.readFrame(MAX_SCHEDULER_MESSAGE_BYTES)
        if (first == null) throw new SchedulerUnavailableError('scheduler closed the stream during registration')
        const reply = SchedulerMessage.decode(first)
        if (reply.registered == null) throw new SchedulerUnavailableError('scheduler did not acknowledge registration')
        if (reply.registered.error !== '') {
          stream.abort(new Error(reply.registered.error))
          throw new UnauthorizedError(`scheduler refused registration: ${reply.registered.error}`)
        }
        this.schedulerId = reply.registered.schedulerId
        this.stream = stream
        this.backoff = this.init.minBackoffMs ?? 500
        stream.addEventListener('close', () => { this.onDisconnect(stream) })
        this.readLoop(stream, reader).catch((err) => {
          this.init.log.warn({ err: err.message }, 'scheduler stream failed')
          stream.abort(err)
        })
        this.init.log.info({ scheduler: this.init.url }, 'registered with scheduler')
        this.emit('connected')
      } catch (err: any) {
        this.init.log.warn({ err: err.message, scheduler: this.init.url }, 'cannot reach scheduler, will retry')
        this.scheduleRetry()
        throw err
      } finally {
        this.connecting = undefined
      }
    })()
    return await this.connecting
  }

  private async readLoop (stream: Stream, reader: FrameReader): Promise<void> {
    while (true) {
      const frame = await reader.readFrame(MAX_SCHEDULER_MESSAGE_BYTES)
      if (frame == null) break
      const msg = SchedulerMessage.decode(frame, { limits: { update: { parents: 1024, digests: 1 << 20 } } as any })
      if (msg.update != null) this.emit('update', msg.update)
      if (msg.seed != null) this.emit('seed', msg.seed)
      if (msg.preheat != null) this.emit('preheat', msg.preheat)
    }
    await stream.close().catch(() => {})
  }

  private onDisconnect (stream: Stream): void {
    if (this.stream !== stream) return
    this.stream = undefined
    this.schedulerId = undefined
    this.emit('disconnected', undefined)
    if (!this.stopped) this.scheduleRetry()
  }

  private scheduleRetry (): void {
    if (this.stopped || this.retryTimer != null) return
    const delay = this.backoff
    this.backoff = Math.min(this.backoff * 2, this.init.maxBackoffMs ?? 5000)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.connect().catch(() => {})
    }, delay)
  }
}

export async function fetchSchedulerInfo (url: string): Promise<SchedulerInfo> {
  let res
  try {
    res = await request(new URL('/api/v1/info', url), { signal: AbortSignal.timeout(5000) })
  } catch (err: any) {
    throw new SchedulerUnavailableError(`scheduler ${url} unreachable: ${err.code ?? err.message}`)
  }
  if (res.statusCode !== 200) {
    await res.body.dump()
    throw new SchedulerUnavailableError(`scheduler ${url} answered ${res.statusCode}`)
  }
  return await res.body.json() as SchedulerInfo
}

export { SchedulerRing, ownerOf, type SchedulerRingInit } from './ring.js'
