import { EventEmitter } from 'node:events'
import { PieceStore, PieceCache, type TaskStore } from '@damselfly/storage'
import { PieceServer, PieceClient, type DataChannelMode, type DataChannelOffer, type Transport } from '@damselfly/piece-exchange'
import { SchedulerRing } from '@damselfly/scheduler-client'
import { createHasher, allocPieceBuffer, releasePieceBuffer } from '@damselfly/hasher'
import { createBackends, type Backends, type BackendsInit } from '@damselfly/backend'
import { taskIdFor, withTimeout, redactUrl, RateLimiter, addressClass, type Logger } from '@damselfly/utils'
import PQueue from 'p-queue'
import { fetchFromSource } from './source-fetcher.js'
import { errorInfo, DownloadTimeoutError, InvalidRequestError } from '@damselfly/types'
import { createNode, listenAddrs } from './node.js'
import { Download, type DownloadInit } from './download.js'
import { OriginPolicy, AccessCache, checkAccess, withoutOwnCredentials, type OriginPolicyInit } from './origin-policy.js'
import type { SourceFetchInit } from './source-fetcher.js'
import { localFileBackend } from './import.js'
import { TaskReporter } from './task-reporter.js'
import type { SeedRequest, Register, TaskState } from '@damselfly/proto'
import type { SchedulerLink } from '@damselfly/scheduler-client'
import type { TaskRequest, TaskStats, Hasher, PeerLabels, ObjectStat } from '@damselfly/types'
import type { Libp2p } from '@libp2p/interface'

export interface PeerEngineInit {
  dataDir: string
  log: Logger
  /** pieces to and from disk with O_DIRECT where the filesystem allows @default true */
  directIo?: boolean
  /**
   * memory for the pieces most recently stored or sent, so the children that ask for a piece
   * soon after it arrived are served without a disk read (0: every upload reads the disk)
   * @default DEFAULT_PIECE_CACHE_BYTES
   */
  pieceCacheBytes?: number
  /** scheduler HTTP URLs (tasks spread over them by consistent hashing); none = standalone (every task from the origin) */
  schedulerUrls?: string[]
  /** token presented to the scheduler (the seed token for seeds) */
  token?: string
  /** the cluster token: libp2p becomes a private network keyed by it (see clusterPsk) */
  clusterToken?: string
  /**
   * scheduler peer ids this peer trusts, by scheduler URL (pinned: `http://host:8002/p2p/<id>`);
   * a scheduler with another identity is refused
   */
  schedulerPeerIds?: Record<string, string>
  /** development / lab mode: an unpinned scheduler's identity is taken from its plain-HTTP /api/v1/info */
  dev?: boolean
  /** seeds: which origins they may use their own credentials for, and which private addresses they may fetch */
  originPolicy?: OriginPolicyInit
  /**
   * check with the origin, with each requester's own credentials, that it may read a task
   * before serving it from P2P (see checkAccess)
   * @default true
   */
  checkAccess?: boolean
  labels?: Partial<PeerLabels>
  /**
   * the seed role (seed-peer's `originSeeder()`): with one, this engine registers as a seed and
   * fetches tasks from the origin when the scheduler asks
   */
  seeder?: SeederFactory
  /** @default 32 */
  uploadSlots?: number
  /**
   * libp2p, and the data channel beside it (`dataPort` on the same host; mode `tcp` by default,
   * see DataChannelMode)
   */
  p2p?: { host?: string, port?: number, announce?: string[], dataPort?: number, dataChannel?: DataChannelMode, libp2pDebug?: boolean }
  /**
   * BLAKE3 worker threads. One native worker hashes ~3.9 GB/s here, over ten times what a peer
   * receives; a second one cost ~25 MiB of RSS for no measurable speed (swarm bench).
   * @default 1
   */
  hasherThreads?: number
  backends?: BackendsInit
  download?: DownloadInit
  /** drop a parent that sends nothing for this long while pieces are pending @default 30000 */
  pieceTimeoutMs?: number
  /** drop an upload stream whose reader takes nothing for this long @default 30000 */
  uploadIdleTimeoutMs?: number
  /** bandwidth limits (bytes/s, 0 = unlimited); changeable at run time with setLimits() */
  limits?: Partial<RateLimits>
}

/**
 * What an operator budgets, in bytes per second (0 = unlimited). Upload and download count piece
 * bodies and origin bodies only: control messages (scheduler session, piece requests, health
 * checks, the local API) are never held back.
 */
export interface RateLimits {
  /** piece bytes sent to other peers, all tasks and transports together */
  uploadRate: number
  /** bytes received, from parents and the origin together */
  downloadRate: number
  /** bytes from the origin (back-to-source and seeding), all tasks together */
  backToSourceRate: number
  /** bytes from the origin for any one task */
  backToSourceTaskRate: number
  /** origin requests (a stat, a ranged GET) this peer runs at once, all tasks together; 0 = unlimited */
  backToSourceConcurrency: number
  /** ranged origin requests any one task runs at once (its missing pieces split between them); at least 1 */
  backToSourceTaskConcurrency: number
}

/** cross_pool: this peer's share of its pool's WAN budget, set by the scheduler (not by PUT /api/v1/limits) */
export type LimitDirection = 'upload' | 'download' | 'back_to_source' | 'cross_pool' | 'task'

const NO_LIMITS: RateLimits = { uploadRate: 0, downloadRate: 0, backToSourceRate: 0, backToSourceTaskRate: 0, backToSourceConcurrency: 0, backToSourceTaskConcurrency: 1 }
/** limits that count requests, not bytes per second, and the least each may be */
const COUNT_LIMITS: Partial<Record<keyof RateLimits, number>> = { backToSourceConcurrency: 0, backToSourceTaskConcurrency: 1 }

/**
 * 8 pieces of 4 MiB. At 64 MiB every upload in the 8-peer swarm bench was served from memory; at 32,
 * 68% (1,409 of 2,067), with the same time and CPU there and at 16 peers, ~30 MiB less peak RSS per
 * peer, and at 32 peers x 256 MiB 28.6 CPU s and 16.2 s instead of 33.0 and 19.3 (README, "Piece
 * cache"). Where the disk is slow to read back what it just wrote, 64MiB restores every hit.
 */
export const DEFAULT_PIECE_CACHE_BYTES = 32 * 1024 * 1024

/** What the seed role gets from the engine it is composed into. */
export interface SeederComponents {
  store: PieceStore
  hasher: Hasher
  backends: Backends
  scheduler?: SchedulerLink
  log: Logger
  /** origin bytes the seeder stored (the daemon's received-bytes metrics) */
  onOriginBytes: (bytes: number) => void
  /** fetchFromSource through this peer's origin limits (rate, concurrency) */
  fetchSource: (init: SourceFetchInit) => Promise<ObjectStat | undefined>
  /** the same origins without this daemon's own credentials: for tasks others asked for */
  anonymousBackends: Backends
  /** which origins the seed may fetch for others, and with whose credentials */
  policy: OriginPolicy
}

/** The seed role as the engine sees it. */
export interface Seeder {
  /** the scheduler named this peer as the task's seed */
  seed: (req: SeedRequest) => void
  isSeeding: (taskId: string) => boolean
  /** tasks seeded or being seeded, reported at (re)registration */
  held: () => Iterable<TaskStore>
  /** after a (re)connect: publish the manifests this seed holds */
  republish: () => Promise<void>
}

export type SeederFactory = (components: SeederComponents) => Seeder

/** What one caller asks of one download, beside the engine-wide `download` init. */
export interface DownloadOptions {
  /** fail instead of going to the origin when P2P cannot finish (applies to the download this request starts) */
  disableBackToSource?: boolean
  /** this caller gives up after this long with a DownloadTimeoutError (0 or unset: never); the download itself goes on for others */
  timeoutMs?: number
  /** bytes/s for the download this request starts, from parents and the origin together (dfget --limit-rate) */
  rateLimit?: number
}

export interface EngineEvents {
  /**
   * The engine is working: a download, import or seed request came, or bytes moved (every chunk,
   * every piece served). What the event-loop delay sampler keys on, so an idle daemon never wakes.
   */
  work: []
  upload: [taskId: string, peerId: string, bytes: number]
  piece: [source: 'seed' | 'peer', bytes: number, ms: number]
}

/**
 * Everything a peer (or seed peer) daemon does with tasks: the libp2p node,
 * the piece store, uploads to other peers, downloads (P2P first, origin as
 * the fallback) and, for seeds, fetching from the origin on the scheduler's
 * request.
 */
export class PeerEngine extends EventEmitter<EngineEvents> {
  node!: Libp2p
  readonly store: PieceStore
  readonly hasher: Hasher
  readonly backends: Backends
  /** the same origins without this daemon's own credentials: what a seed uses for others' tasks */
  private readonly anonymousBackends: Backends
  private readonly policy: OriginPolicy
  private readonly access = new AccessCache()
  private server!: PieceServer
  private pieces!: PieceClient
  scheduler?: SchedulerRing
  private readonly downloads = new Map<string, Download>()
  private seeder?: Seeder
  /** tasks made from local files (cache import); this peer is their only source, so it re-publishes them */
  private readonly imported = new Map<string, TaskStore>()
  private readonly importing = new Set<string>()
  readonly uploadedByTask = new Map<string, number>()
  /** bytes received since start, by source */
  readonly received = { origin: 0, seed: 0, peer: 0 }
  uploaded = 0
  /** piece bytes served since start, by what carried them */
  readonly uploadedByTransport: Record<Transport, number> = { libp2p: 0, tls: 0, tcp: 0 }
  /** carries this peer's id once the node has started, so every log line names its peer */
  log: Logger
  readonly pieceCache: PieceCache
  /** one limiter per direction, shared by every transfer in it */
  readonly limiters: Record<Exclude<LimitDirection, 'task'>, RateLimiter> = { upload: new RateLimiter(), download: new RateLimiter(), back_to_source: new RateLimiter(), cross_pool: new RateLimiter() }
  /** piece bytes received from parents outside this peer's node pool (across the WAN) */
  receivedCrossPool = 0
  /** per-task and per-request limiters alive now, so their waits are counted and task limits re-rated */
  private readonly taskLimiters = new Set<RateLimiter>()
  private readonly sourceLimiters = new Set<RateLimiter>()
  /** seconds waited on limiters that are gone (per-task ones), so the counter never goes down */
  private taskWaitSecondsDone = 0
  /** origin requests of all tasks: at most backToSourceConcurrency run at once */
  private readonly sourceQueue = new PQueue({ concurrency: Infinity })
  /** each running origin fetch's own request queue (backToSourceTaskConcurrency), re-sized by setLimits */
  private readonly taskRequestQueues = new Set<PQueue>()
  /** seconds origin requests waited for a slot of backToSourceConcurrency */
  sourceSlotWaitSeconds = 0
  private _limits: RateLimits = { ...NO_LIMITS }

  constructor (readonly init: PeerEngineInit) {
    super()
    this.setLimits(init.limits ?? {})
    this.log = init.log
    this.pieceCache = new PieceCache(init.pieceCacheBytes ?? DEFAULT_PIECE_CACHE_BYTES, releasePieceBuffer)
    this.store = new PieceStore({ dataDir: init.dataDir, directIo: init.directIo, cache: this.pieceCache })
    this.hasher = createHasher({ threads: init.hasherThreads ?? 1 })
    this.backends = createBackends(init.backends)
    this.anonymousBackends = createBackends(withoutOwnCredentials(init.backends))
    this.policy = new OriginPolicy(init.originPolicy)
  }

  get peerId (): string { return this.node.peerId.toString() }

  get limits (): RateLimits { return { ...this._limits } }

  /** Changes limits now: transfers under way draw on the new rates from their next chunk or piece. */
  setLimits (next: Partial<RateLimits>): RateLimits {
    const merged = { ...this._limits, ...next }
    for (const [k, v] of Object.entries(merged)) {
      const least = COUNT_LIMITS[k as keyof RateLimits]
      if (least != null ? !Number.isInteger(v) || v < least : !Number.isFinite(v) || v < 0) {
        throw new RangeError(`${k} must be ${least != null ? `an integer of at least ${least}` : 'a non-negative number of bytes per second'}, got ${v}`)
      }
    }
    this._limits = merged
    this.limiters.upload.setRate(merged.uploadRate)
    this.limiters.download.setRate(merged.downloadRate)
    this.limiters.back_to_source.setRate(merged.backToSourceRate)
    for (const l of this.sourceLimiters) l.setRate(merged.backToSourceTaskRate)
    this.sourceQueue.concurrency = merged.backToSourceConcurrency > 0 ? merged.backToSourceConcurrency : Infinity
    for (const q of this.taskRequestQueues) q.concurrency = merged.backToSourceTaskConcurrency
    return this.limits
  }

  /** Seconds transfers waited on each kind of limiter since start. */
  limitWaitSeconds (): Record<LimitDirection, number> {
    let task = this.taskWaitSecondsDone
    for (const l of [...this.taskLimiters, ...this.sourceLimiters]) task += l.waitSeconds
    return { upload: this.limiters.upload.waitSeconds, download: this.limiters.download.waitSeconds, back_to_source: this.limiters.back_to_source.waitSeconds, cross_pool: this.limiters.cross_pool.waitSeconds, task }
  }

  /** Bytes/s each direction moved over the last few seconds. */
  currentRates (): Record<Exclude<LimitDirection, 'task'>, number> {
    return { upload: this.limiters.upload.currentRate(), download: this.limiters.download.currentRate(), back_to_source: this.limiters.back_to_source.currentRate(), cross_pool: this.limiters.cross_pool.currentRate() }
  }

  /** Origin requests waiting for a back-to-source slot, and those running now. */
  get sourceQueueStats (): { waiting: number, running: number } { return { waiting: this.sourceQueue.size, running: this.sourceQueue.pending } }

  /**
   * Back-to-source (a download's, the seed role's, a cache import's) through this peer's origin
   * limits: at most backToSourceTaskConcurrency requests of the task at once, each in a slot of the
   * per-peer backToSourceConcurrency, and every chunk from the download, back-to-source and per-task
   * buckets (and `extra`, a request's own limit).
   */
  async fetchSource (init: SourceFetchInit, extra?: RateLimiter): Promise<ObjectStat | undefined> {
    const task = this.trackLimiter(this.sourceLimiters, new RateLimiter(this._limits.backToSourceTaskRate))
    const requests = new PQueue({ concurrency: this._limits.backToSourceTaskConcurrency })
    this.taskRequestQueues.add(requests)
    try {
      return await fetchFromSource({
        ...init,
        limiters: [this.limiters.download, this.limiters.back_to_source, task.limiter, ...(extra != null ? [extra] : [])],
        requests,
        slot: async (request) => await this.inSourceSlot(request, init.signal)
      })
    } finally {
      task.done()
      this.taskRequestQueues.delete(requests)
    }
  }

  /** Runs one origin request in a slot of backToSourceConcurrency, counting the time it waited for it. */
  private async inSourceSlot<T> (request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const asked = performance.now()
    return await this.sourceQueue.add(async () => {
      this.sourceSlotWaitSeconds += (performance.now() - asked) / 1000
      return await request()
    }, { signal }) as T
  }

  private trackLimiter (set: Set<RateLimiter>, limiter: RateLimiter): { limiter: RateLimiter, done: () => void } {
    set.add(limiter)
    return { limiter, done: () => { if (set.delete(limiter)) this.taskWaitSecondsDone += limiter.waitSeconds } }
  }
  get dataChannel (): DataChannelMode { return this.init.p2p?.dataChannel ?? 'tls' }
  /** the data channel's port, when this peer serves one */
  get dataPort (): number | undefined { return this.server?.dataPort }
  /** data channels this peer opened to parents, by where their ticket came from (the scheduler's plan, the parent) */
  get dataChannelsOpened (): { scheduler: number, parent: number } { return this.pieces?.dataVia ?? { scheduler: 0, parent: 0 } }
  get addrs (): string[] { return listenAddrs(this.node) }

  async start (): Promise<void> {
    await this.store.start()
    await this.hasher.start()
    this.node = await createNode({ ...this.init.p2p, keyDir: this.init.dataDir, clusterToken: this.init.clusterToken })
    await this.node.start()
    this.log = this.init.log.child({ peer: this.peerId })
    this.server = new PieceServer(this.node, {
      log: this.log,
      maxInboundStreams: this.init.uploadSlots ?? 32,
      idleTimeoutMs: this.init.uploadIdleTimeoutMs,
      lookup: async (taskId) => await this.store.get(taskId),
      alloc: allocPieceBuffer,
      release: (buf) => { this.pieceCache.release(buf) },
      rateLimit: this.limiters.upload,
      dataChannel: this.dataChannel === 'off' ? undefined : { mode: this.dataChannel, host: this.init.p2p?.host, port: this.init.p2p?.dataPort },
      // with a scheduler, pieces go only to peers it admitted to the task (signed grants)
      trustedSchedulers: (this.init.schedulerUrls?.length ?? 0) > 0 ? () => this.scheduler?.trustedIds ?? new Set() : undefined,
      onUpload: (taskId, peer, bytes, transport) => {
        this.uploadedByTask.set(taskId, (this.uploadedByTask.get(taskId) ?? 0) + bytes)
        this.uploaded += bytes
        this.uploadedByTransport[transport] += bytes
        const d = this.downloads.get(taskId)
        if (d != null) d.stats.bytesUploaded += bytes
        this.emit('work')
        this.emit('upload', taskId, peer, bytes)
      }
    })
    await this.server.start()
    this.pieces = new PieceClient(this.node, { log: this.log, alloc: allocPieceBuffer, pieceTimeoutMs: this.init.pieceTimeoutMs, dataChannel: this.dataChannel, pool: this.init.labels?.pool ?? 'default' })
    if ((this.init.schedulerUrls?.length ?? 0) > 0) {
      this.scheduler = new SchedulerRing(this.node, {
        urls: this.init.schedulerUrls!,
        peerIds: this.init.schedulerPeerIds,
        dev: this.init.dev,
        log: this.log,
        register: () => this.registration()
      })
      this.scheduler.on('preheat', (req) => { this.preheatTask(req) })
    }
    this.seeder = this.init.seeder?.({
      store: this.store,
      hasher: this.hasher,
      backends: this.backends,
      scheduler: this.scheduler,
      log: this.log,
      onOriginBytes: (n) => { this.received.origin += n; this.emit('work') },
      fetchSource: async (init) => await this.fetchSource(init),
      anonymousBackends: this.anonymousBackends,
      policy: this.policy
    })
    if (this.scheduler != null) {
      this.scheduler.on('connected', () => { for (const store of this.imported.values()) this.publishImport(store) })
      const seeder = this.seeder
      if (seeder != null) {
        this.scheduler.on('seed', (req) => { this.emit('work'); seeder.seed(req) })
        this.scheduler.on('connected', () => { seeder.republish().catch((err) => this.log.warn({ err: err.message }, 'republish failed')) })
      }
      await this.scheduler.start()
    }
  }

  async stop (): Promise<void> {
    for (const d of this.downloads.values()) d.fail(new Error('daemon stopping'))
    await this.scheduler?.stop()
    await this.pieces?.stop()
    await this.server?.stop()
    await this.node?.stop()
    await this.store.stop()
    await this.hasher.stop()
    await this.backends.close()
    await this.anonymousBackends.close()
  }

  /** Downloads a task (joining one already running); resolves with its store when complete. */
  async download (req: TaskRequest, onStarted?: (d: Download) => void, opts: DownloadOptions = {}): Promise<{ store: TaskStore, stats: TaskStats }> {
    const taskId = taskIdFor(req)
    this.emit('work')
    // a content-addressed swarm must never widen access: whoever asks proves, with their own
    // credentials, that the canonical origin lets them read this URL, whatever this peer holds
    if (this.init.checkAccess !== false) await this.authorize(req)
    let d = this.downloads.get(taskId)
    if (d?.stats.state === 'succeeded' && d.store.complete) {
      // already here: this request moved no bytes
      onStarted?.(d)
      const now = Date.now()
      return { store: d.store, stats: { ...d.stats, bytesFromOrigin: 0, bytesFromSeed: 0, bytesFromPeers: 0, startedAt: now, finishedAt: now } }
    }
    if (d == null || d.stats.state === 'failed') {
      const store = await this.store.open(taskId, req.url)
      const perRequest = opts.rateLimit != null && opts.rateLimit > 0 ? this.trackLimiter(this.taskLimiters, new RateLimiter(opts.rateLimit)) : undefined
      d = new Download(taskId, req, {
        store,
        hasher: this.hasher,
        backend: () => this.backends.forUrl(req.url),
        pieces: this.pieces,
        scheduler: this.scheduler,
        log: this.log,
        pool: this.init.labels?.pool ?? 'default',
        limiters: perRequest != null ? [this.limiters.download, perRequest.limiter] : [this.limiters.download],
        crossPoolLimiter: this.limiters.cross_pool,
        fetchSource: async (init) => await this.fetchSource(init, perRequest?.limiter),
        discard: async () => { this.downloads.delete(taskId); await this.store.remove(taskId) }
      }, { ...this.init.download, disableBackToSource: opts.disableBackToSource ?? this.init.download?.disableBackToSource })
      this.downloads.set(taskId, d)
      // the cache GC must not evict a task while it is being downloaded
      const release = this.store.pin(taskId)
      d.finished.finally(() => { release(); perRequest?.done() }).catch(() => {})
      d.on('bytes', (source, n, crossPool) => {
        this.emit('work')
        this.received[source] += n
        if (crossPool === true) this.receivedCrossPool += n
      })
      d.on('piece', (source, n, ms) => { this.emit('piece', source, n, ms) })
      d.run().catch(() => {})
      const log = this.log
      log.info({ task: taskId, url: redactUrl(req.url) }, 'download started')
      d.finished.then(() => {
        const s = d!.stats
        log.info({ task: taskId, bytes: s.contentLength, fromOrigin: s.bytesFromOrigin, fromSeed: s.bytesFromSeed, fromPeers: s.bytesFromPeers }, 'download finished')
      }, (err) => { log.warn({ task: taskId, err: errorInfo(err) }, 'download failed') })
    }
    onStarted?.(d)
    await withTimeout(d.finished, opts.timeoutMs, () => new DownloadTimeoutError(`download did not finish within ${opts.timeoutMs} ms`))
    return { store: await this.store.open(taskId, req.url), stats: d.stats }
  }

  /** Throws the origin's refusal when the requester's credentials may not read `req.url`. */
  async authorize (req: TaskRequest): Promise<void> {
    const key = this.access.key(req)
    if (this.access.has(key)) return
    let backend
    try { backend = this.backends.forUrl(req.url) } catch { return }
    await checkAccess(backend, req)
    this.access.add(key)
  }

  taskStats (): TaskStats[] {
    return [...this.downloads.values()].map((d) => d.stats)
  }

  getDownload (taskId: string): Download | undefined { return this.downloads.get(taskId) }

  /** The cache evicted a task: a later request must download it again rather than reuse the gone store. */
  forget (taskId: string): void {
    const d = this.downloads.get(taskId)
    if (d != null && d.stats.state === 'running') return
    this.downloads.delete(taskId)
    this.uploadedByTask.delete(taskId)
    // the scheduler must stop offering this peer as a parent for pieces it no longer has
    this.scheduler?.send({ leave: { taskId } })
  }

  /** Tasks a running download holds (never evicted). */
  isDownloading (taskId: string): boolean {
    return this.downloads.get(taskId)?.stats.state === 'running' || this.seeder?.isSeeding(taskId) === true || this.importing.has(taskId)
  }

  /**
   * Cache import: a local file becomes a task this peer holds whole, cut, hashed and stored
   * by the pipeline a seed uses for an origin (fetchFromSource), and announced with its
   * manifest, which a scheduler started with `--allow-import` accepts for a task nobody
   * else has a manifest for. Other peers then download it by the same request, P2P.
   */
  async importFile (path: string, req: TaskRequest): Promise<TaskStore> {
    const taskId = taskIdFor(req)
    if (this.isDownloading(taskId)) throw new InvalidRequestError(`task ${taskId} is being downloaded or imported`)
    this.emit('work')
    this.importing.add(taskId)
    const log = this.log.child({ task: taskId })
    const report = new TaskReporter(this.scheduler, taskId)
    try {
      const store = await this.store.open(taskId, req.url)
      const backend = localFileBackend(path)
      const { contentLength } = await backend.stat(req.url, {})
      if (store.initialised && store.contentLength !== contentLength) throw new InvalidRequestError(`task ${taskId} already holds ${store.contentLength} bytes; ${path} has ${contentLength} (delete it first)`)
      // through the same origin limits as back-to-source: an import's disk reads and hashing count
      // against this peer's download and back-to-source budgets and slots
      await this.fetchSource({
        backend,
        url: req.url,
        headers: {},
        store,
        hasher: this.hasher,
        log,
        pieceLength: req.pieceLength,
        onMeta: () => { report.meta(store, req.url) },
        onPiece: (index, digest) => { this.emit('work'); report.piece(index, digest) }
      })
      this.imported.set(taskId, store)
      this.publishImport(store)
      log.info({ bytes: store.contentLength }, 'imported')
      return store
    } finally {
      this.importing.delete(taskId)
    }
  }

  /** Cache delete: the task's pieces leave this peer and the scheduler stops offering it as a parent. */
  async removeTask (taskId: string): Promise<boolean> {
    if (this.isDownloading(taskId)) throw new InvalidRequestError(`task ${taskId} is being downloaded or imported`)
    const had = (await this.store.get(taskId)) != null
    this.imported.delete(taskId)
    this.forget(taskId)
    await this.store.remove(taskId)
    return had
  }

  /** the whole manifest (pieces on disk from an earlier run included), then done */
  private publishImport (store: TaskStore): void {
    const report = new TaskReporter(this.scheduler, store.taskId)
    report.manifest(store)
    report.finished()
  }

  /** Preheat: the scheduler asks this peer to hold a task for its node pool. */
  private preheatTask (req: SeedRequest): void {
    const request = requestOf(req)
    if (taskIdFor(request) !== req.taskId) {
      this.log.warn({ task: req.taskId }, 'preheat request does not match its task id; ignored')
      return
    }
    this.log.info({ task: req.taskId }, 'preheating')
    this.download(request).catch((err) => { this.log.warn({ task: req.taskId, err: errorInfo(err) }, 'preheat failed') })
  }

  private registration (): Register {
    const tasks: TaskState[] = []
    // without the seeded tasks, a restarted scheduler would drop the manifest the seed re-publishes
    const stores = new Map<string, TaskStore>()
    for (const s of this.seeder?.held() ?? []) stores.set(s.taskId, s)
    for (const s of this.imported.values()) stores.set(s.taskId, s)
    for (const d of this.downloads.values()) stores.set(d.taskId, d.store)
    for (const [taskId, s] of stores) {
      if (!s.initialised) continue
      tasks.push({
        taskId,
        have: s.bitfield.bytes as Uint8Array<ArrayBuffer>,
        done: s.complete,
        meta: { taskId, contentLength: s.contentLength, pieceLength: s.pieceLength, url: s.url }
      })
    }
    return {
      addrs: this.addrs,
      pool: this.init.labels?.pool ?? 'default',
      idc: this.init.labels?.idc ?? '',
      hostname: this.init.labels?.hostname ?? '',
      seed: this.seeder != null,
      uploadSlots: this.init.uploadSlots ?? 32,
      token: this.init.token ?? '',
      tasks,
      // announced addresses mean the listen address is not what others reach (NAT, containers):
      // children then ask us for tickets over libp2p, which dials what we announce
      ...dataOfferFields((this.init.p2p?.announce?.length ?? 0) > 0 ? undefined : this.server.dataOffer(soleOutsideAddress(this.addrs)))
    }
  }
}

/**
 * The one IP address other hosts reach us at, when listening on every interface (a container, a
 * pod: one address besides loopback); undefined when there are several or none.
 */
function soleOutsideAddress (addrs: string[]): string | undefined {
  const ips = new Set<string>()
  for (const a of addrs) {
    const ip = /^\/ip[46]\/([^/]+)\//.exec(a)?.[1]
    if (ip == null) continue
    // private addresses are what a pod or container is reached at; only this host's own are skipped
    const kind = addressClass(ip)
    if (kind === 'loopback' || kind === 'link-local' || kind === 'unspecified') continue
    ips.add(ip)
  }
  return ips.size === 1 ? [...ips][0] : undefined
}

/** Register's data channel fields: the scheduler makes tickets for children with them (nothing: children ask us) */
function dataOfferFields (offer?: DataChannelOffer): Partial<Register> {
  if (offer == null) return {}
  return { dataSecret: offer.secret as Uint8Array<ArrayBuffer>, dataHost: offer.host, dataPort: offer.port, dataPlainPort: offer.plainPort, dataTls: offer.tls }
}

/** The task request a scheduler's seed / preheat message describes (its task id is recomputed from it). */
export function requestOf (req: SeedRequest): TaskRequest {
  return {
    url: req.url,
    headers: Object.fromEntries(req.headers.map((h) => [h.name, h.value])),
    pieceLength: req.pieceLength > 0 ? req.pieceLength : undefined,
    digest: req.digest !== '' ? req.digest : undefined,
    tag: req.tag !== '' ? req.tag : undefined,
    application: req.application !== '' ? req.application : undefined,
    filteredQueryParams: req.filteredQueryParams.length > 0 ? req.filteredQueryParams : undefined,
    range: req.range !== '' ? req.range : undefined
  }
}
