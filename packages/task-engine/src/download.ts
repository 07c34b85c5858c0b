import { EventEmitter } from 'node:events'
import { Bitfield, pieceRange, takeAll, type Logger, type RateLimiter } from '@damselfly/utils'
import { FailureKind, Grant as GrantCodec, type DataTicket, type TaskUpdate } from '@damselfly/proto'
import { BackToSourceDisabledError, DigestMismatchError, DownloadTimeoutError, StorageError, errorInfo } from '@damselfly/types'
import { releasePieceBuffer } from '@damselfly/hasher'
import { verifyFileDigest } from './export.js'
import { TaskReporter } from './task-reporter.js'
import { pickPiece, type PickParent, type PickState } from './pick-piece.js'
import type { TaskRequest, TaskStats, Hasher, Backend, ObjectStat } from '@damselfly/types'
import { fetchFromSource, type SourceFetchInit } from './source-fetcher.js'
import type { TaskStore } from '@damselfly/storage'
import type { PieceClient, Transport } from '@damselfly/piece-exchange'
import type { SchedulerLink } from '@damselfly/scheduler-client'

export interface DownloadInit {
  /** pieces in flight for this task across all parents @default 16 */
  maxInflight?: number
  /**
   * piece bytes in flight (received or being received, not yet written); with
   * big pieces this, not `maxInflight`, bounds a peer's memory
   * @default 67108864
   */
  maxInflightBytes?: number
  /** pieces in flight per parent (pipelined on one stream) @default 4 */
  perParent?: number
  /** give up on P2P after this long without a verified piece, then go back to source @default 15000 */
  stallMs?: number
  /** how long to wait for a scheduler connection before going straight to the origin @default 3000 */
  schedulerWaitMs?: number
  disableBackToSource?: boolean
  /** whole-download timeout, 0 = none @default 0 */
  timeoutMs?: number
}

export interface DownloadComponents {
  store: TaskStore
  hasher: Hasher
  backend: () => Backend
  pieces: PieceClient
  scheduler?: SchedulerLink
  log: Logger
  /** this peer's node pool: parents the scheduler names in it are remembered for edge autonomy */
  pool?: string
  /** rate limits every piece from a parent is drawn from (this peer's download limit, this request's) */
  limiters?: RateLimiter[]
  /**
   * this peer's share of its pool's WAN budget: pieces from parents outside the pool draw from it
   * as well; its rate is what the scheduler's plans say
   */
  crossPoolLimiter?: RateLimiter
  /** back-to-source, through the engine's origin limits (rate, concurrency) @default fetchFromSource, unlimited */
  fetchSource?: (init: SourceFetchInit) => Promise<ObjectStat | undefined>
  /** drops the task's content (it failed its whole-content digest check), so nobody is served it */
  discard?: () => Promise<void>
}

interface ParentState {
  peerId: string
  addrs: string[]
  pool: string
  have: Bitfield
  seed: boolean
  inflight: number
  failures: number
  lastFailureAt: number
  /** not asked again before this time (after a failure) */
  restUntil: number
  blocked: boolean
}

export interface DownloadEvents {
  /** the content length and piece length became known */
  meta: [TaskStats]
  progress: [TaskStats]
  /** crossPool: from a parent outside this peer's node pool */
  bytes: [source: 'origin' | 'seed' | 'peer', bytes: number, crossPool?: boolean]
  /** a P2P piece fetched, verified and stored, with its wall time (for the latency histogram) */
  piece: [source: 'seed' | 'peer', bytes: number, ms: number]
}

/** a parent whose request failed (not by timing out) is not asked again for this long */
const REST_AFTER_FAILURE_MS = 1000
/** without a piece for this long (or without a scheduler session), ask the pool members we know directly */
const ASK_POOL_AFTER_MS = 3000
/** pool members asked at most, and how long each may take to answer */
const ASK_POOL_MAX = 16
const ASK_POOL_TIMEOUT_MS = 2000

/**
 * One task being downloaded by a peer: pieces pulled from the parents the
 * scheduler names, several in flight per parent, rarest first, every piece
 * verified against the seed's manifest before it is written. Falls back to
 * the origin when P2P cannot finish.
 */
export class Download extends EventEmitter<DownloadEvents> {
  readonly stats: TaskStats
  private readonly parents = new Map<string, ParentState>()
  private readonly manifest: Array<Uint8Array | undefined> = []
  /** swarm-wide holders per piece, from the scheduler: the rarest go first */
  private availability?: Uint8Array
  /** piece -> controllers of the requests for it (more than one in endgame) */
  private readonly inflight = new Map<number, Array<{ parent: string, ctl: AbortController, started: number }>>()
  private backToSource = false
  private lastProgress = Date.now()
  private readonly done = Promise.withResolvers<void>()
  private settled = false
  private stallTimer?: NodeJS.Timeout
  private readonly maxInflight: number
  private readonly perParent: number
  /**
   * Edge autonomy: every member of our own pool the scheduler ever named as a
   * parent. When the scheduler goes quiet (the pool's WAN link is cut) we ask
   * these directly which pieces they hold, and keep downloading from them.
   */
  private readonly poolMembers = new Map<string, string[]>()
  private askingPool = false
  private quietSpell = false
  private askedPoolAt = 0
  /** the scheduler's latest data channel ticket for each parent it named */
  private readonly tickets = new Map<string, DataTicket>()
  /** the scheduler's grant for this peer and task, presented to parents with every request */
  private grant?: Uint8Array
  private readonly report: TaskReporter

  constructor (readonly taskId: string, readonly request: TaskRequest, private readonly c: DownloadComponents, private readonly init: DownloadInit = {}) {
    super()
    // every local client streaming this task (proxy connections) waits on its events
    this.setMaxListeners(0)
    this.maxInflight = init.maxInflight ?? 16
    this.perParent = init.perParent ?? 4
    this.report = new TaskReporter(c.scheduler, taskId)
    this.stats = {
      taskId,
      url: request.url,
      contentLength: c.store.contentLength,
      pieceLength: c.store.pieceLength,
      pieceCount: c.store.pieceCount,
      piecesDone: c.store.bitfield.cardinality,
      bytesDone: c.store.bytesStored,
      bytesFromOrigin: 0,
      bytesFromSeed: 0,
      bytesFromPeers: 0,
      bytesUploaded: 0,
      digestMismatches: 0,
      state: 'pending',
      startedAt: Date.now()
    }
    this.done.promise.catch(() => {})
  }

  get finished (): Promise<void> { return this.done.promise }
  get store (): TaskStore { return this.c.store }

  /** Starts the download; the promise settles when it is complete or failed. */
  async run (): Promise<void> {
    this.stats.state = 'running'
    const store = this.c.store
    if (store.complete) { this.succeed(); return await this.done.promise }
    const sched = this.c.scheduler
    // also when one session is up: with several schedulers, the task's owner is known once all were tried
    if (sched != null && !(sched.connected && sched.settled !== false)) await sched.waitConnected(this.init.schedulerWaitMs ?? 3000).catch(() => {})
    if (sched?.connected === true) {
      sched.on('update', this.onUpdate)
      sched.on('connected', this.onReconnect)
      this.announce()
      this.stallTimer = setInterval(() => { this.checkStall() }, 1000)
      this.stallTimer.unref()
    } else {
      this.c.log.info({ task: this.taskId }, 'no scheduler: downloading from the origin')
      this.goBackToSource('scheduler unreachable')
    }
    if ((this.init.timeoutMs ?? 0) > 0) {
      const t = setTimeout(() => { this.fail(new DownloadTimeoutError(`download did not finish within ${this.init.timeoutMs} ms`)) }, this.init.timeoutMs)
      t.unref()
      this.done.promise.finally(() => { clearTimeout(t) }).catch(() => {})
    }
    return await this.done.promise
  }

  private readonly onReconnect = (): void => { if (!this.settled && !this.backToSource) this.announce() }

  private announce (): void {
    const headers = Object.entries(this.request.headers ?? {}).map(([name, value]) => ({ name, value }))
    this.c.scheduler?.send({
      announce: {
        taskId: this.taskId,
        url: this.request.url,
        headers,
        pieceLength: this.request.pieceLength ?? 0,
        digest: this.request.digest ?? '',
        tag: this.request.tag ?? '',
        application: this.request.application ?? '',
        filteredQueryParams: this.request.filteredQueryParams ?? [],
        range: this.request.range ?? ''
      }
    })
  }

  private readonly onUpdate = (u: TaskUpdate): void => {
    if (u.taskId !== this.taskId || this.settled) return
    this.handleUpdate(u).catch((err) => { this.fail(err) })
  }

  private async handleUpdate (u: TaskUpdate): Promise<void> {
    const store = this.c.store
    if (u.error !== '' && !u.backToSource) { this.fail(new Error(u.error)); return }
    const sameLayout = store.initialised && store.contentLength === u.contentLength && store.pieceLength === u.pieceLength
    if (u.contentLength >= 0 && u.pieceLength > 0 && !sameLayout) {
      if (store.initialised) {
        this.c.log.warn({ task: this.taskId, held: `${store.contentLength}/${store.pieceLength}`, swarm: `${u.contentLength}/${u.pieceLength}` }, 'partial task was cut differently from the swarm\'s manifest: starting it over')
        await store.relayout(u.contentLength, u.pieceLength)
      } else {
        await store.initialise(u.contentLength, u.pieceLength)
      }
      this.stats.contentLength = store.contentLength
      this.stats.pieceLength = store.pieceLength
      this.stats.pieceCount = store.pieceCount
      this.emit('meta', this.stats)
      if (store.complete) { this.succeed(); return }
    }
    for (const d of u.digests) this.manifest[d.index] = d.digest
    this.quietSpell = false
    if (u.grant != null) this.grant = GrantCodec.encode(u.grant)
    if (u.error === '') this.c.crossPoolLimiter?.setRate(u.crossPoolRate)
    if ((u.availability?.byteLength ?? 0) > 0) this.availability = u.availability
    const seen = new Set<string>()
    for (const p of u.parents) {
      // tickets come only when a parent is new to us or ours nears expiry: kept across plans that leave the parent out
      if (p.ticket != null) this.tickets.set(p.peerId, p.ticket)
      seen.add(p.peerId)
      if (this.c.pool != null && p.pool === this.c.pool && !p.seed) this.poolMembers.set(p.peerId, p.addrs)
      const size = store.pieceCount
      const existing = this.parents.get(p.peerId)
      if (existing != null) {
        existing.have = new Bitfield(size, p.have)
        existing.addrs = p.addrs
      } else {
        this.parents.set(p.peerId, { peerId: p.peerId, addrs: p.addrs, pool: p.pool, have: new Bitfield(size, p.have), seed: p.seed, inflight: 0, failures: 0, lastFailureAt: 0, restUntil: 0, blocked: false })
      }
    }
    for (const id of [...this.parents.keys()]) {
      if (!seen.has(id) && this.parents.get(id)!.inflight === 0) this.parents.delete(id)
    }
    if (u.backToSource) { this.goBackToSource('scheduler said back-to-source'); return }
    this.pump()
  }

  /** Starts as many piece requests as the limits allow. */
  private pump (): void {
    const store = this.c.store
    if (this.settled || this.backToSource || !store.initialised) return
    let active = 0
    for (const v of this.inflight.values()) active += v.length
    // a parent that just failed rests (the stall timer pumps again)
    const now = Date.now()
    const parents = [...this.parents.values()].filter((p) => !p.blocked && now >= p.restUntil)
    // least busy parents first, normal peers before seeds so the seed's upload is kept for what only it has
    parents.sort((a, b) => a.inflight - b.inflight || Number(a.seed) - Number(b.seed))
    const limit = Math.min(this.maxInflight, Math.max(2, Math.floor((this.init.maxInflightBytes ?? 64 * 1024 * 1024) / store.pieceLength)))
    const views: PickParent[] = parents.map((p) => ({ peerId: p.peerId, have: p.have, blocked: p.blocked, crossPool: this.crossPool(p) }))
    const state: PickState = {
      hasPiece: (i) => store.hasPiece(i),
      verifiable: (i) => this.manifest[i] != null,
      inflight: this.inflight,
      availability: this.availability,
      remaining: store.pieceCount - store.bitfield.cardinality,
      parents: views
    }
    let progressed = true
    while (active < limit && progressed) {
      progressed = false
      for (const [k, parent] of parents.entries()) {
        if (active >= limit) break
        // across the WAN a piece in flight is slow to finish, and lost half-sent if we die: fewer at once
        if (parent.inflight >= (views[k].crossPool ? Math.min(2, this.perParent) : this.perParent)) continue
        const index = pickPiece(views[k], state)
        if (index < 0) continue
        this.fetchPiece(parent, index)
        active++
        progressed = true
      }
    }
  }

  /** a parent in another node pool: its pieces cross the WAN */
  private crossPool (parent: ParentState): boolean {
    return this.c.pool != null && parent.pool !== '' && parent.pool !== this.c.pool
  }

  private fetchPiece (parent: ParentState, index: number): void {
    const store = this.c.store
    const { length } = pieceRange(index, store.contentLength, store.pieceLength)
    const ctl = new AbortController()
    const reqs = this.inflight.get(index) ?? []
    reqs.push({ parent: parent.peerId, ctl, started: Date.now() })
    this.inflight.set(index, reqs)
    parent.inflight++
    let started = Date.now()
    const via: { transport?: Transport } = {}
    const crossPool = this.crossPool(parent)
    this.withTokens(length, ctl.signal, crossPool)
      .then(async () => {
        // the piece's cost (reported to the scheduler) starts when it is asked for, not while it waits for tokens
        started = Date.now()
        // the scheduler's ticket opens a data channel to the parent if none is open yet
        return await this.c.pieces.fetch({ ...parent, ticket: this.tickets.get(parent.peerId) }, this.taskId, index, length, ctl.signal, this.grant, via)
      })
      .then(async (buf) => {
        const { digest, buf: back } = await this.c.hasher.hash(buf)
        if (this.settled || store.hasPiece(index)) return
        const expected = this.manifest[index]
        if (expected == null || !Buffer.from(digest).equals(expected)) {
          throw new DigestMismatchError(`piece ${index} from ${parent.peerId} does not match the manifest`)
        }
        await store.writePiece(index, back, digest)
        if (!store.handOver(index, back)) releasePieceBuffer(back)
        // the other endgame copies are now useless
        for (const r of this.inflight.get(index) ?? []) {
          if (r.ctl === ctl) continue
          r.ctl.abort()
          // an endgame loser that was far slower than the winner is an outlier the scheduler should know about
          const waited = Date.now() - r.started
          if (waited > Math.max(1000, 2 * (Date.now() - started))) {
            this.c.scheduler?.send({ failure: { taskId: this.taskId, parentId: r.parent, index, kind: FailureKind.TIMEOUT, message: `slower than another parent (${waited} ms)` } })
          }
        }
        parent.failures = 0
        if (parent.seed) this.stats.bytesFromSeed += length
        else this.stats.bytesFromPeers += length
        this.emit('bytes', parent.seed ? 'seed' : 'peer', length, crossPool)
        this.emit('piece', parent.seed ? 'seed' : 'peer', length, Date.now() - started)
        this.report.piece(index, undefined, parent.peerId, Date.now() - started)
        this.onPieceStored()
      })
      .catch((reason: unknown) => {
        if (ctl.signal.aborted || this.settled) return
        // a dead parent's stream can reject with a bare string or an event, not an Error (it crashed a daemon)
        const err = reason instanceof Error ? reason : new Error(`piece fetch failed: ${String(reason)}`)
        // our disk failed (full, read-only), not the parent: blaming parents would only send us to the origin to fail again
        if (err instanceof StorageError) { this.fail(err); return }
        if (err instanceof DigestMismatchError) this.stats.digestMismatches++
        // bytes that crossed a plain TCP socket may have been changed on the way: that is a
        // fault of the connection, not proof against the parent
        const mismatch = err instanceof DigestMismatchError && via.transport !== 'tcp'
        // one broken connection fails every request pipelined on it: count it once; but a "not found"
        // is one answer per request, and counting those once a second lets a lying parent be asked thousands of times
        const notFound = err.name === 'PieceNotFoundError'
        if (notFound) parent.have.clear(index)
        const now = Date.now()
        // counted once a second, from the first failure of a burst (a parent that refuses connections fails
        // every request in a millisecond: stamping each one kept the count at 1 and the retries spinning)
        const counted = mismatch || notFound || now - parent.lastFailureAt > 1000
        if (counted) {
          parent.failures++
          parent.lastFailureAt = now
          // a parent that held our requests without a byte for the whole piece timeout is stuck, not
          // unlucky: it rests as long as it kept us waiting, doubled each time (a second's rest gave it
          // a fresh pipeline of requests to sit on every couple of seconds)
          parent.restUntil = now + (err.name === 'PieceTimeoutError' ? this.c.pieces.pieceTimeoutMs * 2 ** (parent.failures - 1) : REST_AFTER_FAILURE_MS)
        }
        // a bad piece is proof of a bad parent; otherwise allow a few transient errors
        if (mismatch || parent.failures >= 3) {
          parent.blocked = true
          this.c.pieces.drop(parent.peerId, err)
        }
        if (!counted) return
        this.c.log.warn({ task: this.taskId, parent: parent.peerId, piece: index, err: err.message }, 'piece failed')
        if (err instanceof DigestMismatchError && !mismatch) this.c.pieces.drop(parent.peerId, err)
        this.c.scheduler?.send({
          failure: { taskId: this.taskId, parentId: parent.peerId, index, kind: mismatch || !(err instanceof DigestMismatchError) ? failureKind(err) : FailureKind.CONNECTION, message: err.message.slice(0, 200) }
        })
      })
      .finally(() => {
        parent.inflight--
        const left = (this.inflight.get(index) ?? []).filter((r) => r.ctl !== ctl)
        if (left.length === 0) this.inflight.delete(index)
        else this.inflight.set(index, left)
        this.pump()
      })
  }

  /** requests waiting for rate-limit tokens: time spent so is not a stall */
  private waitingForTokens = 0

  /**
   * Takes a piece's worth of tokens before it is asked for: the parent then sends at most what
   * the limits allow (Dragonfly's client does the same per piece). A piece's request is the one
   * place P2P download bytes are decided, for data channels and libp2p streams alike.
   */
  private async withTokens (length: number, signal: AbortSignal, crossPool: boolean): Promise<void> {
    this.waitingForTokens++
    try { await takeAll([...this.c.limiters ?? [], crossPool ? this.c.crossPoolLimiter : undefined], length, signal) } finally { this.waitingForTokens-- }
  }

  private onPieceStored (): void {
    const store = this.c.store
    this.lastProgress = Date.now()
    this.stats.piecesDone = store.bitfield.cardinality
    this.stats.bytesDone = store.bytesStored
    this.emit('progress', this.stats)
    if (store.complete) this.succeed()
  }

  private checkStall (): void {
    if (this.settled || this.backToSource) return
    this.pump()
    // a download held back by a rate limit is slow on purpose, not stalled
    if (this.waitingForTokens > 0) this.lastProgress = Date.now()
    const idle = Date.now() - this.lastProgress
    if ((this.c.scheduler?.connected !== true || idle > ASK_POOL_AFTER_MS) && this.poolMembers.size > 0) this.askPool()
    // going to the origin is the scheduler's call while it is reachable; a peer
    // decides alone only when it is cut off, or after a much longer silence
    const limit = (this.init.stallMs ?? 15_000) * (this.c.scheduler?.connected === true ? 4 : 1)
    if (idle > limit) {
      this.goBackToSource(`no piece for ${idle} ms from ${this.parents.size} parents`)
    }
  }

  /**
   * Asks the pool members we know which pieces they hold (HAVE_PROTOCOL) and
   * makes those that answer our parents, with what they really hold. Runs at
   * most once a second; the scheduler's next update (when it is back) replaces
   * these parents with its own plan again.
   */
  private askPool (): void {
    if (this.askingPool || Date.now() - this.askedPoolAt < 1000 || !this.c.store.initialised) return
    this.askingPool = true
    this.askedPoolAt = Date.now()
    const members = [...this.poolMembers].slice(0, ASK_POOL_MAX)
    Promise.all(members.map(async ([peerId, addrs]) => {
      const bytes = await this.c.pieces.have({ peerId, addrs }, this.taskId, AbortSignal.timeout(ASK_POOL_TIMEOUT_MS)).catch(() => undefined)
      if (bytes == null || bytes.byteLength === 0 || this.settled) return 0
      const have = new Bitfield(this.c.store.pieceCount, bytes)
      const p = this.parents.get(peerId)
      if (p != null) p.have = have
      else this.parents.set(peerId, { peerId, addrs, have, seed: false, pool: this.c.pool ?? '', inflight: 0, failures: 0, lastFailureAt: 0, restUntil: 0, blocked: false })
      return 1
    })).then((answers) => {
      const n = answers.reduce<number>((a, b) => a + b, 0)
      // once per quiet spell; the scheduler's next update ends it
      if (this.quietSpell) return
      this.quietSpell = true
      this.c.log.info({ task: this.taskId, asked: members.length, answered: n, schedulerConnected: this.c.scheduler?.connected === true }, 'scheduler quiet: asked pool members for their pieces')
    }).catch(() => {}).finally(() => { this.askingPool = false; this.pump() })
  }

  private goBackToSource (reason: string): void {
    if (this.backToSource || this.settled) return
    if (this.init.disableBackToSource === true) {
      if (reason.startsWith('scheduler said') || reason.startsWith('scheduler unreachable')) {
        this.fail(new BackToSourceDisabledError(`cannot download from P2P (${reason}) and back-to-source is disabled`))
      }
      return
    }
    this.c.log.info({ task: this.taskId, reason }, 'back-to-source')
    this.backToSource = true
    for (const reqs of this.inflight.values()) for (const r of reqs) r.ctl.abort()
    const store = this.c.store
    const fetchSource = this.c.fetchSource ?? fetchFromSource
    fetchSource({
      backend: this.c.backend(),
      url: this.request.url,
      headers: this.request.headers ?? {},
      store,
      hasher: this.c.hasher,
      log: this.c.log,
      pieceLength: this.request.pieceLength,
      onMeta: () => {
        // designated back-to-source peers publish the manifest other peers verify against
        this.report.meta(store, this.request.url)
        this.stats.contentLength = store.contentLength
        this.stats.pieceLength = store.pieceLength
        this.stats.pieceCount = store.pieceCount
        this.emit('meta', this.stats)
      },
      onPiece: (index, digest, bytes) => {
        this.stats.bytesFromOrigin += bytes
        this.emit('bytes', 'origin', bytes)
        this.report.piece(index, digest)
        this.onPieceStored()
      }
    }).then(() => { if (store.complete) this.succeed() }, (err) => { this.fail(err) })
  }

  private succeed (): void {
    if (this.settled) return
    this.settled = true
    this.cleanup()
    this.stats.piecesDone = this.c.store.bitfield.cardinality
    this.stats.bytesDone = this.c.store.bytesStored
    // every piece matched the manifest; a requested digest is checked over the whole content
    // too, so a manifest that was wrong from the start (a lying seed or origin fetcher) is caught
    // before anyone (the client, or children of this peer) gets the bytes
    const digest = this.request.digest
    const verified = digest != null && digest !== ''
      ? this.c.store.flush().then(async () => { await verifyFileDigest(this.c.store.dataPath, digest) })
      : Promise.resolve()
    verified.then(() => {
      this.stats.state = 'succeeded'
      this.stats.finishedAt = Date.now()
      this.report.finished()
      return this.c.store.flush()
    }).then(() => { this.done.resolve() }, (err) => {
      this.settled = false
      this.fail(err)
      if (err instanceof DigestMismatchError) this.c.discard?.().catch(() => {})
    })
  }

  fail (err: Error): void {
    if (this.settled) return
    this.settled = true
    this.cleanup()
    this.stats.state = 'failed'
    this.stats.error = errorInfo(err).message
    this.stats.finishedAt = Date.now()
    for (const reqs of this.inflight.values()) for (const r of reqs) r.ctl.abort()
    this.report.finished(err)
    this.done.reject(err)
  }

  private cleanup (): void {
    clearInterval(this.stallTimer)
    this.c.scheduler?.off('update', this.onUpdate)
    this.c.scheduler?.off('connected', this.onReconnect)
  }
}

function failureKind (err: Error): FailureKind {
  switch (err.name) {
    case 'DigestMismatchError': return FailureKind.DIGEST_MISMATCH
    case 'PieceNotFoundError': return FailureKind.NOT_FOUND
    case 'PieceTimeoutError': return FailureKind.TIMEOUT
    default: return FailureKind.CONNECTION
  }
}
