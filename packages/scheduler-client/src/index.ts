import { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import { multiaddr } from '@multiformats/multiaddr'
import { PeerMessage, SchedulerMessage, SCHEDULER_PROTOCOL, SILENT_HEARTBEATS, MAX_HEARTBEAT_MS, TaskState as TaskStateCodec, type Register, type TaskUpdate, type SeedRequest } from '@damselfly/proto'
import { FrameReader, lengthPrefixed, type Logger } from '@damselfly/utils'
import { SchedulerUnavailableError, UnauthorizedError } from '@damselfly/types'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'

/** bitfields and digests of big tasks make updates large; anything past this is garbage */
export const MAX_SCHEDULER_MESSAGE_BYTES = 8 * 1024 * 1024

export interface SchedulerInfo {
  peerId: string
  addrs: string[]
}

export interface SchedulerClientInit {
  /** scheduler HTTP base URL, e.g. http://127.0.0.1:8002, or pinned: http://127.0.0.1:8002/p2p/<peer id> */
  url: string
  /** the scheduler's libp2p peer id (pinned); wins over one in the URL */
  peerId?: string
  /**
   * development / lab mode: with no pinned id, believe the peer id the scheduler's plain-HTTP
   * /api/v1/info names (anyone on the path, or on the info URL, could name their own)
   */
  dev?: boolean
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
  /** the first connection attempt ended, either way */
  attempted: []
}

/** What a download needs from its scheduler session(s). */
export interface SchedulerLink extends Pick<EventEmitter<SchedulerClientEvents>, 'on' | 'off'> {
  readonly connected: boolean
  /** every session has been tried once (several schedulers: only then is a task's owner known) @default true */
  readonly settled?: boolean
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
  /** when the session last brought a message (heartbeats included) */
  private lastHeard = 0
  private silenceTimer?: NodeJS.Timeout
  schedulerId?: string
  /** the first connection attempt has ended (connected or failed) */
  attempted = false
  /** the scheduler identity this peer insists on (pinned), if any */
  readonly pinnedId?: string
  private readonly baseUrl: string

  /** the scheduler's HTTP base URL (without a pinned id) */
  get url (): string { return this.baseUrl }

  constructor (private readonly node: Libp2p, private readonly init: SchedulerClientInit) {
    super()
    this.backoff = init.minBackoffMs ?? 500
    const parsed = parseSchedulerUrl(init.url)
    this.baseUrl = parsed.url
    this.pinnedId = init.peerId ?? parsed.peerId
    if (this.pinnedId == null && init.dev !== true) {
      throw new UnauthorizedError(`scheduler ${parsed.url} is not pinned: its identity would be taken from plain HTTP, where anyone on the path can name their own. ` +
        `Pin it with --scheduler ${parsed.url}/p2p/<peer id> (the scheduler prints its peerId when it starts, and serves it at /api/v1/info), or run with --dev on a trusted lab network`)
    }
  }

  /** scheduler identities whose grants and manifests this peer accepts */
  get trustedId (): string | undefined { return this.pinnedId ?? this.schedulerId }

  get connected (): boolean { return this.stream?.status === 'open' && this.schedulerId != null }

  async start (): Promise<void> {
    this.stopped = false
    this.connect().catch(() => {})
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.retryTimer)
    clearTimeout(this.silenceTimer)
    const s = this.stream
    this.stream = undefined
    await s?.close().catch(() => s.abort(new Error('stopping')))
  }

  /** Resolves once connected, or rejects after `timeoutMs`. */
  async waitConnected (timeoutMs: number): Promise<void> {
    if (this.connected) return
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => { this.off('connected', ok); reject(new SchedulerUnavailableError(`scheduler ${this.baseUrl} not reachable within ${timeoutMs} ms`)) }, timeoutMs)
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
        const info = await fetchSchedulerInfo(this.baseUrl)
        if (this.pinnedId != null && info.peerId !== this.pinnedId) {
          throw new UnauthorizedError(`scheduler at ${this.baseUrl} claims to be ${info.peerId}, not the pinned ${this.pinnedId}: refused`)
        }
        const id = this.pinnedId ?? info.peerId
        // dialled as the expected identity: Noise fails unless the far end holds that key
        const addrs = info.addrs.map((a) => multiaddr(`${a.replace(/\/p2p\/[^/]+$/, '')}/p2p/${id}`))
        const signal = AbortSignal.timeout(10_000)
        const conn = await this.node.dial(addrs, { signal })
        const stream = await conn.newStream(SCHEDULER_PROTOCOL, { signal })
        stream.maxReadBufferLength = MAX_SCHEDULER_MESSAGE_BYTES * 2
        const reader = new FrameReader(stream, MAX_SCHEDULER_MESSAGE_BYTES)
        // the scheduler reads at most 64 KiB before it has authorised us: holdings beyond what
        // fits follow the registration in further messages
        const reg = { ...this.init.register(), heartbeats: true }
        const [head, ...rest] = splitHoldings(reg)
        stream.send(lengthPrefixed(PeerMessage.encode({ register: head })))
        const first = await reader.readFrame(MAX_SCHEDULER_MESSAGE_BYTES)
        if (first == null) throw new SchedulerUnavailableError('scheduler closed the stream during registration')
        const reply = SchedulerMessage.decode(first)
        if (reply.registered == null) throw new SchedulerUnavailableError('scheduler did not acknowledge registration')
        if (reply.registered.error !== '') {
          stream.abort(new Error(reply.registered.error))
          throw new UnauthorizedError(`scheduler refused registration: ${reply.registered.error}`)
        }
        if (reply.registered.schedulerId !== id) throw new UnauthorizedError(`scheduler answered as ${reply.registered.schedulerId}, expected ${id}`)
        this.schedulerId = id
        for (const more of rest) stream.send(lengthPrefixed(PeerMessage.encode({ register: more })))
        this.stream = stream
        this.backoff = this.init.minBackoffMs ?? 500
        stream.addEventListener('close', () => { this.onDisconnect(stream) })
        this.watchSilence(conn, stream, reply.registered.heartbeatMs ?? 0)
        this.readLoop(stream, reader).catch((err) => {
          this.init.log.warn({ err: err.message }, 'scheduler stream failed')
          stream.abort(err)
        })
        this.init.log.info({ scheduler: this.baseUrl }, 'registered with scheduler')
        this.emit('connected')
      } catch (err: any) {
        this.init.log[err instanceof UnauthorizedError ? 'error' : 'warn']({ err: err.message, scheduler: this.baseUrl }, 'cannot reach scheduler, will retry')
        this.scheduleRetry()
        throw err
      } finally {
        this.connecting = undefined
        if (!this.attempted) { this.attempted = true; this.emit('attempted') }
      }
    })()
    return await this.connecting
  }

  private async readLoop (stream: Stream, reader: FrameReader): Promise<void> {
    while (true) {
      const frame = await reader.readFrame(MAX_SCHEDULER_MESSAGE_BYTES)
      if (frame == null) break
      this.lastHeard = Date.now()
      const msg = SchedulerMessage.decode(frame, { limits: { update: { parents: 1024, digests: 1 << 20 } } as any })
      if (msg.heartbeat != null) this.send({ heartbeat: {} })
      if (msg.update != null) this.emit('update', msg.update)
      if (msg.seed != null) this.emit('seed', msg.seed)
      if (msg.preheat != null) this.emit('preheat', msg.preheat)
    }
    await stream.close().catch(() => {})
  }

  /**
   * A scheduler that sends heartbeats every `heartbeatMs` and has sent nothing for
   * SILENT_HEARTBEATS of them is gone (its host hung or the link was cut: no FIN, no RST): the
   * connection is closed, so the session ends and the peer connects again, to this scheduler or,
   * with several, fails over. One timer, re-armed for the time left rather than ticking every
   * interval. An older scheduler announces no heartbeats (0): only a closed connection ends the
   * session then.
   */
  private watchSilence (conn: Connection, stream: Stream, heartbeatMs: number): void {
    clearTimeout(this.silenceTimer)
    if (heartbeatMs === 0) return
    // past ~24.8 days a timer fires at once: no interval off the wire may get near that
    heartbeatMs = Math.min(heartbeatMs, MAX_HEARTBEAT_MS)
    const silence = SILENT_HEARTBEATS * heartbeatMs
    this.lastHeard = Date.now()
    let due = this.lastHeard + silence
    const check = (): void => {
      if (this.stream !== stream) return
      const now = Date.now()
      const quiet = now - this.lastHeard
      // fired this late: this process stood still (a paused VM, a stopped process) and heartbeats
      // may be waiting unread; look again one interval on
      const stalled = now - due > heartbeatMs
      if (quiet < silence || stalled) {
        const wait = stalled ? heartbeatMs : silence - quiet
        due = now + wait
        this.silenceTimer = setTimeout(check, wait).unref()
        return
      }
      this.init.log.warn({ scheduler: this.baseUrl, silentMs: quiet }, 'scheduler sent no heartbeat: session closed, connecting again')
      conn.abort(new SchedulerUnavailableError(`scheduler silent for ${quiet} ms`))
    }
    this.silenceTimer = setTimeout(check, silence).unref()
  }

  private onDisconnect (stream: Stream): void {
    if (this.stream !== stream) return
    clearTimeout(this.silenceTimer)
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

/** the scheduler's limit on a first message, with room for the rest of the registration */
const FIRST_REGISTER_BYTES = 48 * 1024
const MORE_REGISTER_BYTES = 1024 * 1024

/** A registration as a first message under 64 KiB, and the holdings that do not fit in it as more. */
export function splitHoldings (reg: Register): Register[] {
  const out: Register[] = []
  let cur: Register = { ...reg, tasks: [] }
  let size = PeerMessage.encode({ register: cur }).byteLength
  for (const t of reg.tasks) {
    const n = TaskStateCodec.encode(t).byteLength + 8
    const limit = out.length === 0 ? FIRST_REGISTER_BYTES : MORE_REGISTER_BYTES
    if (size + n > limit && cur.tasks.length > 0) {
      out.push(cur)
      cur = { ...reg, tasks: [] }
      size = PeerMessage.encode({ register: cur }).byteLength
    }
    cur.tasks.push(t)
    size += n
  }
  out.push(cur)
  return out
}

/** `http://host:8002/p2p/<peer id>` -> the HTTP base URL and the pinned peer id */
export function parseSchedulerUrl (raw: string): { url: string, peerId?: string } {
  const m = /^(.*?)\/p2p\/([1-9A-HJ-NP-Za-km-z]+)\/?$/.exec(raw)
  if (m == null) return { url: raw.replace(/\/$/, '') }
  return { url: m[1], peerId: m[2] }
}

/** the info answer is two short fields: anything longer is not a scheduler */
const MAX_INFO_BYTES = 64 * 1024

/**
 * The scheduler's peer id and libp2p addresses from its `/api/v1/info`, read with a bound (the
 * answer is two short fields; whoever answers this plain-HTTP URL must not make a starting peer
 * buffer without end) and checked for shape before use.
 */
export async function fetchSchedulerInfo (url: string): Promise<SchedulerInfo> {
  const target = new URL('/api/v1/info', url)
  const { get } = process.getBuiltinModule(target.protocol === 'https:' ? 'node:https' : 'node:http') as typeof import('node:http')
  let body: string
  try {
    body = await new Promise<string>((resolve, reject) => {
      get(target, { signal: AbortSignal.timeout(5000) }, (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume()
          reject(new SchedulerUnavailableError(`scheduler ${url} answered ${res.statusCode ?? '?'}`))
          return
        }
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
          if (text.length > MAX_INFO_BYTES) res.destroy(new Error(`info answer over ${MAX_INFO_BYTES} bytes`))
        })
        res.on('end', () => { resolve(text) })
        res.on('error', reject)
      }).on('error', reject)
    })
  } catch (err: any) {
    if (err instanceof SchedulerUnavailableError) throw err
    throw new SchedulerUnavailableError(`scheduler ${url} unreachable: ${err.code ?? err.message}`)
  }
  let info: Partial<SchedulerInfo>
  try { info = JSON.parse(body) } catch { info = {} }
  if (typeof info.peerId !== 'string' || !Array.isArray(info.addrs) || !info.addrs.every((a) => typeof a === 'string')) {
    throw new SchedulerUnavailableError(`scheduler ${url} answered no peer id and addresses on /api/v1/info`)
  }
  return { peerId: info.peerId, addrs: info.addrs }
}

export { SchedulerRing, ownerOf, type SchedulerRingInit } from './ring.js'
