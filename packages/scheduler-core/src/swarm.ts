import { Bitfield, pieceCount, taskIdFor } from '@damselfly/utils'
import { FailureKind, type PeerMessage, type SchedulerMessage, type Register, type Announce, type TaskMeta, type PieceReport, type PieceFailure, type TaskFinished, type Parent, type SeedRequest, type TaskState, type Grant, type DataTicket, GRANT_REFRESH_MS } from '@damselfly/proto'
import {
  DEFAULT_MAX_PARENTS, DEFAULT_CROSS_POOL_FETCHERS, DEFAULT_FLUSH_MS, DEFAULT_MIN_FLUSH_INTERVAL_MS, DEFAULT_ORIGIN_PHASE_PLAN_MS, DEFAULT_BLOCK_AFTER_FAILURES,
  DEFAULT_MAX_BACK_TO_SOURCE, DEFAULT_ORIGIN_FAILURES_BEFORE_FREE_FOR_ALL, DEFAULT_SEED_GRACE_MS, MAX_PIECES, MAX_TICKETED_PARENTS, TICKET_TTL_MS,
  MAX_TASKS_PER_PEER, MAX_TASKS_PER_SEED, MAX_TASKS, MAX_TOTAL_PIECES, MAX_PENDING_HAVE_BYTES_PER_PEER
} from './constants.js'
import { PoolBudget } from './pool-budget.js'
import { chooseParents, type SelectionContext } from './parent-selection.js'
import { peerList, taskView } from './views.js'
import { keyParts, requestParts, verifies, sameRequest } from './task-request.js'
import type { SwarmInit, Send, PeerRecord, Member, TaskKeyParts, TaskRecord } from './swarm-types.js'

export type { SwarmInit, Send, PeerRecord, Member, TaskKeyParts, TaskRecord }
export { crossPoolBytes } from './views.js'

/**
 * The scheduler's view of every task and peer, and its decisions. Pure
 * logic: messages in, messages out through each peer's `send`; no I/O, so the
 * daemon, the benchmark and a simulated swarm all run this same code.
 */
export class Swarm {
  readonly peers = new Map<string, PeerRecord>()
  readonly tasks = new Map<string, TaskRecord>()
  private readonly dirty = new Map<string, Set<string>>()
  private flushScheduled = false
  private readonly maxParents: number
  private readonly maxChildren?: number
  private readonly crossPoolFetchers: number
  private readonly flushMs: number
  private readonly minFlushIntervalMs: number
  private readonly originPhasePlanMs: number
  private lastFlushAt = -Infinity
  private readonly blockAfter: number
  private readonly maxBackToSource: number
  private readonly allowCycles: boolean
  private readonly seedGraceMs: number
  private readonly trustTaskIds: boolean
  private readonly allowImport: boolean
  private readonly startedAt: number
  private readonly setTimer: (fn: () => void, ms: number) => unknown
  readonly now: () => number
  /** plans computed (one per member update) */
  decisions = 0
  backToSourceDecisions = 0
  /** wall time of the last plan computation, for the benchmark */
  lastDecisionMs = 0
  readonly poolBudget: PoolBudget
  private readonly selection: SelectionContext
  private readonly budgetRetries = new Set<string>()
  /** registered seed peers by pool: those pools are the cloud (preferred across pools, outside the WAN budget) */
  private readonly seedsByPool = new Map<string, number>()
  /**
   * Members planned with parents outside their pool, by peer then task: the pools those parents are
   * in. A peer's share of the WAN budget is counted from it (crossPoolRate).
   */
  private readonly crossers = new Map<string, Map<string, string[]>>()
  /** pieces of all tasks together (availability and bitfields are sized by it) */
  private totalPieces = 0
  /** announces refused: task id not matching the request, or quotas */
  refusedAnnounces = 0
  /** signs a member's grant for a task (set by the service, which holds the key) */
  issueGrant?: (taskId: string, peerId: string) => Grant | Promise<Grant>
  /**
   * makes a data channel ticket for `child` under a parent's ticket secret (set by the service):
   * a child then opens a data channel to the parent without a libp2p connection to it
   */
  issueTicket?: (secret: Uint8Array, child: string, ttlMs: number) => { id: Uint8Array<ArrayBuffer>, key: Uint8Array<ArrayBuffer>, expires: number }

  constructor (init: SwarmInit = {}) {
    this.maxParents = init.maxParents ?? DEFAULT_MAX_PARENTS
    this.maxChildren = init.maxChildren
    this.crossPoolFetchers = init.crossPoolFetchers ?? DEFAULT_CROSS_POOL_FETCHERS
    this.flushMs = init.flushMs ?? DEFAULT_FLUSH_MS
    this.minFlushIntervalMs = Math.max(this.flushMs, init.minFlushIntervalMs ?? DEFAULT_MIN_FLUSH_INTERVAL_MS)
    this.originPhasePlanMs = init.originPhasePlanMs ?? DEFAULT_ORIGIN_PHASE_PLAN_MS
    this.blockAfter = init.blockAfterFailures ?? DEFAULT_BLOCK_AFTER_FAILURES
    this.maxBackToSource = init.maxBackToSource ?? DEFAULT_MAX_BACK_TO_SOURCE
    this.allowCycles = init.allowCycles ?? false
    this.setTimer = init.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref())
    this.now = init.now ?? Date.now
    this.seedGraceMs = init.seedGraceMs ?? DEFAULT_SEED_GRACE_MS
    this.trustTaskIds = init.trustTaskIds ?? false
    this.allowImport = init.allowImport ?? false
    this.startedAt = this.now()
    const isCloudPool = (pool: string): boolean => (this.seedsByPool.get(pool) ?? 0) > 0
    this.poolBudget = new PoolBudget(init.poolWanBudget ?? 0, this.now, isCloudPool)
    this.selection = {
      isCloudPool,
      peers: this.peers,
      maxParents: this.maxParents,
      maxChildren: this.maxChildren,
      crossPoolFetchers: this.crossPoolFetchers,
      allowCycles: this.allowCycles,
      poolBudget: this.poolBudget,
      onBudgetRefused: (task, peerId) => { this.retryWhenBudgetFrees(task, peerId) }
    }
  }

  private get inSeedGrace (): boolean { return this.now() - this.startedAt < this.seedGraceMs }

  register (peerId: string, reg: Register, send: Send): void {
    const old = this.peers.get(peerId)
    const peer: PeerRecord = {
      id: peerId,
      addrs: reg.addrs.slice(0, 16),
      pool: reg.pool === '' ? 'default' : reg.pool,
      idc: reg.idc,
      hostname: reg.hostname,
      seed: reg.seed,
      uploadSlots: Math.max(1, reg.uploadSlots),
      data: dataOffer(reg),
      send,
      tasks: old?.tasks ?? new Set(),
      registeredAt: this.now(),
      uploaded: old?.uploaded ?? 0,
      piecesServed: old?.piecesServed ?? 0,
      failures: old?.failures ?? 0,
      costMs: old?.costMs ?? 0,
      costCount: old?.costCount ?? 0,
      pendingHaveBytes: old?.pendingHaveBytes ?? 0
    }
    if (old?.seed === true) this.countSeed(old.pool, -1)
    if (peer.seed) this.countSeed(peer.pool, 1)
    this.peers.set(peerId, peer)
    this.addHoldings(peerId, reg.tasks)
    // tasks announced before any seed was back (see seedGraceMs)
    if (peer.seed) for (const task of this.tasks.values()) if (task.seedState === 'none' && this.anyWants(task)) this.assignSeed(task)
  }

  /**
   * Soft state rebuilt from what a peer says it holds (after a scheduler restart), from its
   * registration and the holdings it sends after it (a registration is kept small).
   */
  addHoldings (peerId: string, tasks: TaskState[]): void {
    const peer = this.peers.get(peerId)
    if (peer == null) return
    for (const t of tasks) {
      if (t.meta == null || t.meta.contentLength < 0) continue
      if (!peer.tasks.has(t.taskId) && peer.tasks.size >= this.taskQuota(peer)) break
      // only a seed's word names a task's URL: anyone else could bind a victim's task id to theirs
      const task = this.ensureTask(t.taskId, peer.seed ? t.meta.url : '', [], t.meta.pieceLength, '')
      if (task == null) break
      // geometry is part of the manifest: a normal peer's holdings wait for a seed to state it
      if (peer.seed) this.setGeometry(task, t.meta.contentLength, t.meta.pieceLength)
      const m = this.join(task, peerId, false)
      this.setHave(task, m, new Bitfield(task.pieceCount, t.have))
      if (task.contentLength < 0) {
        // remembered within the peer's budget; holdings past it count once the peer reports them again
        const keep = Math.min(t.have.byteLength, Math.ceil(MAX_PIECES / 8), MAX_PENDING_HAVE_BYTES_PER_PEER - peer.pendingHaveBytes + (m.pendingHave?.byteLength ?? 0))
        peer.pendingHaveBytes += keep - (m.pendingHave?.byteLength ?? 0)
        m.pendingHave = keep > 0 ? t.have.slice(0, keep) : undefined
      }
      m.done = t.done
      this.markTaskDirty(task)
    }
  }

  private taskQuota (peer: PeerRecord): number { return peer.seed ? MAX_TASKS_PER_SEED : MAX_TASKS_PER_PEER }

  /** Forgets a task: its pieces no longer count against the scheduler's limits. */
  private dropTask (task: TaskRecord): void {
    if (this.tasks.get(task.id) !== task) return
    this.tasks.delete(task.id)
    this.totalPieces -= task.pieceCount
    for (const id of task.members.keys()) this.peers.get(id)?.tasks.delete(task.id)
  }

  private anyWants (task: TaskRecord): boolean {
    for (const m of task.members.values()) if (m.wants && !m.done) return true
    return false
  }

  /** A peer's session closed: it leaves every swarm; its children get new parents. */
  disconnect (peerId: string, send: Send): void {
    const peer = this.peers.get(peerId)
    if (peer == null || peer.send !== send) return
    this.peers.delete(peerId)
    if (peer.seed) this.countSeed(peer.pool, -1)
    for (const taskId of peer.tasks) {
      const task = this.tasks.get(taskId)
      if (task == null) continue
      this.leave(task, peerId)
      if (task.seedPeer === peerId && task.seedState === 'running') {
        task.seedState = 'failed'
        this.assignSeed(task)
      }
      this.markTaskDirty(task)
      if (task.members.size === 0) this.dropTask(task)
    }
  }

  handle (peerId: string, msg: PeerMessage): void {
    const peer = this.peers.get(peerId)
    if (peer == null) return
    if (msg.announce != null) this.onAnnounce(peer, msg.announce)
    if (msg.meta != null) this.onMeta(peer, msg.meta)
    if (msg.pieces != null) this.onPieces(peer, msg.pieces)
    for (const r of msg.morePieces ?? []) this.onPieces(peer, r)
    if (msg.failure != null) this.onFailure(peer, msg.failure)
    if (msg.finished != null) this.onFinished(peer, msg.finished)
    if (msg.leave != null) {
      const task = this.tasks.get(msg.leave.taskId)
      if (task != null) { this.leave(task, peerId); peer.tasks.delete(task.id); this.markTaskDirty(task) }
    }
  }

  /**
   * Preheat: make the seed fetch a task now and, for each named pool, one
   * peer of that pool download it, so later requests there are served locally.
   */
  preheat (req: SeedRequest, pools: string[] = []): { taskId: string, peers: string[] } {
    const task = this.ensureTask(req.taskId, req.url, req.headers.slice(0, 64), req.pieceLength, req.digest, keyParts(req))
    if (task == null) return { taskId: req.taskId, peers: [] }
    if (task.seedState === 'none' || task.seedState === 'failed') this.assignSeed(task)
    const chosen: string[] = []
    for (const pool of pools) {
      let best: PeerRecord | undefined
      for (const p of this.peers.values()) {
        if (p.seed || p.pool !== pool) continue
        if (task.members.get(p.id)?.wants === true) { best = p; break }
        if (best == null || p.tasks.size < best.tasks.size) best = p
      }
      if (best == null) continue
      chosen.push(best.id)
      best.send({ preheat: this.seedRequest(task) })
    }
    return { taskId: task.id, peers: chosen }
  }

  /** What a seed or a preheated peer is sent: everything the task id is computed from, so it can check it. */
  private seedRequest (task: TaskRecord): SeedRequest {
    return { taskId: task.id, url: task.url, headers: task.headers, pieceLength: task.pieceLength, digest: task.digest, tag: task.tag, application: task.application, filteredQueryParams: task.filteredQueryParams, range: task.range }
  }

  private ensureTask (id: string, url: string, headers: Array<{ name: string, value: string }>, pieceLength: number, digest: string, parts?: TaskKeyParts): TaskRecord | undefined {
    let task = this.tasks.get(id)
    if (task == null) {
      if (this.tasks.size >= MAX_TASKS && !this.evictIdleTask()) return undefined
      task = {
        id,
        url,
        tag: parts?.tag ?? '',
        application: parts?.application ?? '',
        filteredQueryParams: parts?.filteredQueryParams ?? [],
        range: parts?.range ?? '',
        headers,
        pieceLength,
        digest,
        contentLength: -1,
        pieceCount: 0,
        manifest: [],
        manifestLog: [],
        members: new Map(),
        availability: new Uint16Array(0),
        children: new Map(),
        seedState: 'none',
        originFailures: 0,
        lastError: '',
        blocked: new Set(),
        mismatchesBy: new Map(),
        createdAt: this.now(),
        backToSourceCount: 0,
        bytesByEdge: new Map()
      }
      this.tasks.set(id, task)
    }
    if (task.url === '' && url !== '') task.url = url
    if (task.headers.length === 0 && headers.length > 0) task.headers = headers
    return task
  }

  /** At the task limit: forgets the oldest task nobody is downloading; false when every task is busy. */
  private evictIdleTask (): boolean {
    let victim: TaskRecord | undefined
    for (const t of this.tasks.values()) {
      if (this.anyWants(t)) continue
      if (victim == null || t.createdAt < victim.createdAt) victim = t
    }
    if (victim == null) return false
    for (const id of victim.members.keys()) this.leave(victim, id)
    this.dropTask(victim)
    return true
  }

  private join (task: TaskRecord, peerId: string, wants: boolean): Member {
    let m = task.members.get(peerId)
    if (m == null) {
      m = {
        peerId,
        have: new Bitfield(task.pieceCount),
        parents: [],
        ticketsUntil: new Map(),
        blocked: new Set(),
        failuresBy: new Map(),
        manifestCursor: 0,
        done: false,
        backToSource: false,
        joinedAt: this.now(),
        wants
      }
      task.members.set(peerId, m)
      this.peers.get(peerId)?.tasks.add(task.id)
    }
    // a (re-)announce starts a fresh session on the peer's side: resend the whole manifest
    if (wants) { m.wants = true; m.manifestCursor = 0 }
    return m
  }

  private leave (task: TaskRecord, peerId: string): void {
    const m = task.members.get(peerId)
    if (m == null) return
    for (const i of m.have.indexes()) task.availability[i]--
    this.setParents(task, m, [])
    task.members.delete(peerId)
    task.children.delete(peerId)
  }

  private setHave (task: TaskRecord, m: Member, have: Bitfield): void {
    for (const i of m.have.indexes()) task.availability[i]--
    m.have = have
    for (const i of have.indexes()) task.availability[i]++
  }

  private setGeometry (task: TaskRecord, contentLength: number, pieceLength: number): void {
    if (task.contentLength >= 0 || contentLength < 0 || pieceLength <= 0) return
    // a bitfield per member is sized by this: refuse geometry no real task has, and more pieces
    // than the scheduler tracks in all
    const n = pieceCount(contentLength, pieceLength)
    if (n > MAX_PIECES || this.totalPieces + n > MAX_TOTAL_PIECES) return
    this.totalPieces += n
    task.contentLength = contentLength
    task.pieceLength = pieceLength
    task.pieceCount = pieceCount(contentLength, pieceLength)
    task.availability = new Uint16Array(task.pieceCount)
    for (const m of task.members.values()) {
      m.have = new Bitfield(task.pieceCount, m.pendingHave ?? m.have.bytes)
      const peer = this.peers.get(m.peerId)
      if (peer != null && m.pendingHave != null) peer.pendingHaveBytes -= m.pendingHave.byteLength
      m.pendingHave = undefined
      for (const i of m.have.indexes()) task.availability[i]++
    }
  }

  private onAnnounce (peer: PeerRecord, a: Announce): void {
    const refuse = (error: string): void => {
      this.refusedAnnounces++
      peer.send({ update: { taskId: a.taskId, contentLength: -1, pieceLength: 0, digests: [], parents: [], backToSource: false, error, availability: new Uint8Array(0), crossPoolRate: 0 } })
    }
    // the task id must be the one its request names: else the first announcer could bind a
    // victim's task id to a URL of its own, and the seed would publish that URL's pieces under it
    const parts = keyParts(a)
    let expected = ''
    if (!this.trustTaskIds) try { expected = taskIdFor({ url: a.url, digest: a.digest, pieceLength: a.pieceLength > 0 ? a.pieceLength : undefined, ...requestParts(parts) }) } catch {}
    if (expected !== a.taskId && !this.trustTaskIds) { refuse('task id does not match the announced request'); return }
    if (!peer.tasks.has(a.taskId) && peer.tasks.size >= this.taskQuota(peer)) { refuse(`too many tasks for one peer (${this.taskQuota(peer)})`); return }
    const task = this.ensureTask(a.taskId, a.url, a.headers.slice(0, 64), a.pieceLength, a.digest, parts)
    if (task == null) { refuse('scheduler is tracking too many tasks'); return }
    if (!sameRequest(task, a, parts) && !verifies(task)) {
      // the task was known from holdings only, or by a request that did not match its id: take this checked one
      Object.assign(task, { url: a.url, headers: a.headers.slice(0, 64), digest: a.digest, ...parts })
      if (a.pieceLength > 0 && task.contentLength < 0) task.pieceLength = a.pieceLength
    }
    const m = this.join(task, peer.id, true)
    if (task.seedState === 'none' || task.seedState === 'failed') this.assignSeed(task)
    if (task.seedState === 'failed') this.maybeBackToSource(task, m)
    this.markDirty(task, peer.id)
  }

  /**
   * Nobody can serve the task from a seed: a limited number of peers go to
   * the origin (their pieces then feed the others), unless origin attempts
   * keep failing, in which case every peer tries for itself.
   */
  private maybeBackToSource (task: TaskRecord, m: Member): void {
    if (m.backToSource || m.done || !m.wants) return
    let active = 0
    for (const o of task.members.values()) if (o.backToSource && !o.done) active++
    const freeForAll = task.originFailures >= DEFAULT_ORIGIN_FAILURES_BEFORE_FREE_FOR_ALL
    if (freeForAll || active < this.maxBackToSource) {
      m.backToSource = true
      task.backToSourceCount++
      this.backToSourceDecisions++
      this.markDirty(task, m.peerId)
    }
  }

  /** Picks the least loaded seed peer to fetch the task from the origin. */
  private assignSeed (task: TaskRecord): void {
    let best: PeerRecord | undefined
    for (const p of this.peers.values()) {
      if (!p.seed || task.blocked.has(p.id)) continue
      if (task.seedState === 'failed' && p.id === task.seedPeer) continue
      if (best == null || p.tasks.size < best.tasks.size) best = p
    }
    if (best == null && task.seedState === 'none' && this.inSeedGrace) {
      this.setTimer(() => {
        if (this.tasks.get(task.id) === task && task.seedState === 'none') { this.assignSeed(task); this.markTaskDirty(task) }
      }, this.seedGraceMs - (this.now() - this.startedAt) + 1)
      return
    }
    if (best == null) {
      task.seedState = 'failed'
      for (const m of task.members.values()) this.maybeBackToSource(task, m)
      return
    }
    task.seedPeer = best.id
    task.seedState = 'running'
    this.join(task, best.id, false)
    best.send({ seed: this.seedRequest(task) })
  }

  private onMeta (peer: PeerRecord, meta: TaskMeta): void {
    let task = this.tasks.get(meta.taskId)
    if (task == null && this.allowImport) task = this.ensureTask(meta.taskId, meta.url, [], meta.pieceLength, '')
    if (task == null) return
    // a cache import: the importer becomes this task's seed, and only this task's
    if (!this.trustedForManifest(task, peer) && this.allowImport && task.contentLength < 0 && task.seedState === 'none') {
      task.seedPeer = peer.id
      task.seedState = 'running'
      this.join(task, peer.id, false)
    }
    // geometry is part of the manifest: only the task's seed or a designated back-to-source peer may set it
    if (!this.trustedForManifest(task, peer)) return
    this.setGeometry(task, meta.contentLength, meta.pieceLength)
    this.markTaskDirty(task)
  }

  private trustedForManifest (task: TaskRecord, peer: PeerRecord): boolean {
    return peer.seed || task.seedPeer === peer.id || task.members.get(peer.id)?.backToSource === true
  }

  private onPieces (peer: PeerRecord, r: PieceReport): void {
    const task = this.tasks.get(r.taskId)
    if (task == null || task.pieceCount === 0) return
    const m = task.members.get(peer.id) ?? this.join(task, peer.id, false)
    if (this.trustedForManifest(task, peer)) {
      for (const d of r.digests) {
        if (d.index >= task.pieceCount || d.digest.byteLength !== 32 || task.manifest[d.index] != null) continue
        task.manifest[d.index] = d.digest
        task.manifestLog.push(d.index)
      }
    }
    let added = 0
    for (const i of r.indexes) {
      // a piece only counts once its digest is in the manifest: nobody can verify it otherwise
      if (task.manifest[i] == null) continue
      if (m.have.set(i)) { task.availability[i]++; added++ }
    }
    const bytes = added * task.pieceLength
    const parent = r.parentId !== '' ? this.peers.get(r.parentId) : undefined
    if (parent != null) {
      parent.uploaded += bytes
      parent.piecesServed += added
      if (r.costMs > 0) { parent.costMs += r.costMs; parent.costCount += r.indexes.length }
      this.addEdge(task, parent.pool, peer.pool, bytes)
    } else if (r.parentId === '' && !peer.seed) {
      this.addEdge(task, 'origin', peer.pool, bytes)
    }
    if (added > 0) this.progressed(task, peer.id)
  }

  /**
   * New pieces reported: the other members hear of them in their next plans, at once when the
   * manifest is complete, otherwise gathered for up to originPhasePlanMs (see its default).
   */
  private progressed (task: TaskRecord, reporter: string): void {
    if (task.manifestLog.length >= task.pieceCount) {
      // what was gathered goes out now, to the reporter as well (others' progress is in it)
      this.markTaskDirty(task, task.progressPending === true ? undefined : reporter)
      task.progressPending = false
      return
    }
    if (task.progressPending === true) return
    task.progressPending = true
    this.setTimer(() => {
      if (this.tasks.get(task.id) !== task || task.progressPending !== true) return
      task.progressPending = false
      this.markTaskDirty(task)
    }, this.originPhasePlanMs)
  }

  private addEdge (task: TaskRecord, from: string, to: string, bytes: number): void {
    // keyed `from>to`: read back with crossPoolBytes()
    if (bytes <= 0) return
    const edge = `${from}>${to}`
    task.bytesByEdge.set(edge, (task.bytesByEdge.get(edge) ?? 0) + bytes)
    this.poolBudget.add(from, to, bytes)
  }

  private onFailure (peer: PeerRecord, f: PieceFailure): void {
    const task = this.tasks.get(f.taskId)
    const m = task?.members.get(peer.id)
    if (task == null || m == null || f.parentId === peer.id) return
    const parent = this.peers.get(f.parentId)
    if (parent != null) parent.failures++
    const n = (m.failuresBy.get(f.parentId) ?? 0) + 1
    m.failuresBy.set(f.parentId, n)
    if (f.kind === FailureKind.DIGEST_MISMATCH || n >= this.blockAfter) m.blocked.add(f.parentId)
    // a parent that served bad data to two different children is bad for everyone; one child's
    // word, however often repeated, only moves that child away (it may be the liar), and a seed
    // (whose pieces define the manifest) is never blocked on reports alone; connection trouble
    // stays between that parent and that child
    if (f.kind === FailureKind.DIGEST_MISMATCH) {
      const prev = task.mismatchesBy.get(f.parentId) ?? new Set<string>()
      if (prev.size < 64) prev.add(peer.id)
      task.mismatchesBy.set(f.parentId, prev)
    }
    const rejecting = task.mismatchesBy.get(f.parentId)?.size ?? 0
    if (rejecting >= 2 && parent?.seed !== true) task.blocked.add(f.parentId)
    this.markTaskDirty(task)
  }

  private onFinished (peer: PeerRecord, f: TaskFinished): void {
    const task = this.tasks.get(f.taskId)
    if (task == null) return
    const m = task.members.get(peer.id)
    const wasOriginFetcher = task.seedPeer === peer.id || m?.backToSource === true
    if (!f.success && wasOriginFetcher) {
      task.originFailures++
      task.lastError = f.error
    }
    if (task.seedPeer === peer.id && task.seedState !== 'done') {
      if (f.success) task.seedState = 'done'
      else {
        task.seedState = 'failed'
        this.assignSeed(task)
      }
    }
    if (m != null) {
      // a finished peer needs no parents: free their child slots
      if (f.success) { m.done = true; m.wants = false; this.setParents(task, m, []) } else { m.wants = false; if (m.backToSource) m.backToSource = false }
    }
    // someone else takes over an origin fetch that failed
    if (!f.success && wasOriginFetcher && task.seedState === 'failed') {
      for (const o of task.members.values()) this.maybeBackToSource(task, o)
    }
    this.markTaskDirty(task)
  }

  private markDirty (task: TaskRecord, peerId: string): void {
    let s = this.dirty.get(task.id)
    if (s == null) { s = new Set(); this.dirty.set(task.id, s) }
    s.add(peerId)
    this.scheduleFlush()
  }

  /** Every downloading member of the task needs a fresh plan. */
  private markTaskDirty (task: TaskRecord, except?: string): void {
    for (const m of task.members.values()) if (m.wants && !m.done && m.peerId !== except) this.markDirty(task, m.peerId)
  }

  private scheduleFlush (): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    const delay = Math.max(this.flushMs, this.lastFlushAt + this.minFlushIntervalMs - this.now())
    this.setTimer(() => { this.flush() }, delay)
  }

  /** Sends every dirty member its current plan. */
  flush (): void {
    this.flushScheduled = false
    this.lastFlushAt = this.now()
    const dirty = [...this.dirty]
    this.dirty.clear()
    for (const [taskId, peerIds] of dirty) {
      const task = this.tasks.get(taskId)
      if (task == null) continue
      for (const peerId of peerIds) {
        const m = task.members.get(peerId)
        const peer = this.peers.get(peerId)
        if (m == null || peer == null || !m.wants) continue
        this.sendPlan(task, m, peer)
      }
    }
  }

  private sendPlan (task: TaskRecord, m: Member, peer: PeerRecord): void {
    const started = performance.now()
    const parents = m.backToSource ? [] : this.chooseParents(task, m, peer)
    this.setParents(task, m, parents.map((p) => p.peerId))
    for (const p of parents) p.ticket = this.ticketFor(m, p.peerId)
    const digests = task.manifestLog.slice(m.manifestCursor).map((index) => ({ index, digest: task.manifest[index] as Uint8Array<ArrayBuffer> }))
    m.manifestCursor = task.manifestLog.length
    const availability = new Uint8Array(task.pieceCount)
    for (let i = 0; i < task.pieceCount; i++) availability[i] = Math.min(255, task.availability[i])
    this.decisions++
    this.lastDecisionMs = performance.now() - started
    const grant = this.grantFor(task, m)
    const crossPoolRate = this.crossPoolRate(peer)
    peer.send({
      update: {
        grant,
        taskId: task.id,
        contentLength: task.contentLength,
        pieceLength: task.pieceLength,
        digests,
        parents,
        backToSource: m.backToSource,
        error: '',
        availability,
        crossPoolRate
      }
    })
  }

  /**
   * A ticket for `m` to open a data channel to `parentId`: when the parent gave us its ticket
   * secret, and `m` holds none from us for it that lasts a while yet (a ticket is single use: a
   * member whose channel closed asks the parent itself).
   */
  private ticketFor (m: Member, parentId: string): DataTicket | undefined {
    const data = this.peers.get(parentId)?.data
    if (data == null || this.issueTicket == null) return undefined
    const now = this.now()
    if ((m.ticketsUntil.get(parentId) ?? 0) > now + TICKET_TTL_MS / 2) return undefined
    const t = this.issueTicket(data.secret, m.peerId, TICKET_TTL_MS)
    if (m.ticketsUntil.size >= MAX_TICKETED_PARENTS) m.ticketsUntil.clear()
    m.ticketsUntil.set(parentId, t.expires)
    return { id: t.id, key: t.key, expires: t.expires, host: data.host, port: data.port, plainPort: data.plainPort, tls: data.tls }
  }

  /**
   * The member's grant to fetch this task's pieces: sent with its plans, re-signed when half
   * its life is gone. Signing is asynchronous; the plan that finds none waiting goes without
   * and the next one (asked for once the grant is ready) carries it.
   */
  private grantFor (task: TaskRecord, m: Member): Grant | undefined {
    const issue = this.issueGrant
    if (issue == null) return undefined
    const stale = m.grant == null || this.now() - (m.grantAt ?? 0) > GRANT_REFRESH_MS
    if (stale && m.granting !== true) {
      const now = issue(task.id, m.peerId)
      if (!(now instanceof Promise)) { m.grant = now; m.grantAt = this.now(); return now }
      m.granting = true
      now.then((g) => {
        m.grant = g
        m.grantAt = this.now()
        if (this.tasks.get(task.id) === task && task.members.get(m.peerId) === m) this.markDirty(task, m.peerId)
      }, () => {}).finally(() => { m.granting = false })
    }
    return m.grant
  }

  private setParents (task: TaskRecord, m: Member, parents: string[]): void {
    for (const p of m.parents) task.children.set(p, Math.max(0, (task.children.get(p) ?? 1) - 1))
    m.parents = parents
    for (const p of parents) task.children.set(p, (task.children.get(p) ?? 0) + 1)
    if (this.poolBudget.limited) this.noteCrossing(task, m)
  }

  /**
   * Records which pools outside its own a member's parents are in. When a peer starts or stops
   * crossing the WAN, the other crossers of the pools involved get a plan with their new share.
   */
  private noteCrossing (task: TaskRecord, m: Member): void {
    const pool = this.peers.get(m.peerId)?.pool
    if (pool == null) return
    const outside = [...new Set(m.parents.map((id) => this.peers.get(id)?.pool).filter((p): p is string => p != null && p !== pool))]
    let byTask = this.crossers.get(m.peerId)
    const wasCrossing = byTask != null && byTask.size > 0
    if (outside.length > 0) {
      if (byTask == null) { byTask = new Map(); this.crossers.set(m.peerId, byTask) }
      byTask.set(task.id, outside)
    } else {
      byTask?.delete(task.id)
      if (byTask?.size === 0) this.crossers.delete(m.peerId)
    }
    if (wasCrossing === (outside.length > 0)) return
    const touched = new Set([pool, ...outside])
    for (const [peerId, tasks] of this.crossers) {
      if (peerId === m.peerId) continue
      const peer = this.peers.get(peerId)
      const shares = peer != null && (touched.has(peer.pool) || [...tasks.values()].some((pools) => pools.some((p) => touched.has(p))))
      if (!shares) continue
      const [taskId] = tasks.keys()
      const t = this.tasks.get(taskId)
      if (t != null) this.markDirty(t, peerId)
    }
  }

  /** registered seeds per pool (seedsByPool), as seeds register, re-register and leave */
  private countSeed (pool: string, by: number): void {
    const n = (this.seedsByPool.get(pool) ?? 0) + by
    if (n > 0) this.seedsByPool.set(pool, n)
    else this.seedsByPool.delete(pool)
  }

  /**
   * This peer's share of the WAN budget, bytes/s from parents outside its pool (0 = no budget).
   * Each pool's inflow is split evenly over its peers that use parents outside it, and each
   * pool's outflow over the peers elsewhere that use parents in it; a peer takes the smaller of
   * its shares. The peers pace themselves by it, so a pool's WAN traffic stays within the budget
   * whatever the plans already sent (which the window check in parent choice cannot undo).
   */
  private crossPoolRate (peer: PeerRecord): number {
    const budget = this.poolBudget.rate
    if (budget <= 0) return 0
    const exempt = this.poolBudget.exempt
    const live = (peerId: string, tasks: Map<string, string[]>): string[] => {
      const pools: string[] = []
      for (const [taskId, outside] of tasks) {
        const m = this.tasks.get(taskId)?.members.get(peerId)
        if (m != null && m.wants && !m.done) pools.push(...outside)
        else tasks.delete(taskId)
      }
      return pools
    }
    const mine = new Set(live(peer.id, this.crossers.get(peer.id) ?? new Map()))
    // this peer counts as a crosser whether or not it crosses yet: the rate it gets is the one it paces by when it does
    let into = exempt(peer.pool) ? 0 : 1
    const outOf = new Map([...mine].filter((p) => !exempt(p)).map((p) => [p, 1]))
    for (const [peerId, tasks] of this.crossers) {
      if (peerId === peer.id) continue
      const pools = live(peerId, tasks)
      if (pools.length === 0) { this.crossers.delete(peerId); continue }
      if (into > 0 && this.peers.get(peerId)?.pool === peer.pool) into++
      for (const p of new Set(pools)) if (outOf.has(p)) outOf.set(p, outOf.get(p)! + 1)
    }
    const sharers = Math.max(into, ...outOf.values())
    // only exempt pools on both ends (a cloud peer fetching from the cloud's other pools): no budget
    return sharers === 0 ? 0 : Math.floor(budget / sharers)
  }

  /** A member refused a cross-pool parent for the WAN budget is planned again once some of it frees up. */
  private retryWhenBudgetFrees (task: TaskRecord, peerId: string): void {
    const key = `${task.id}/${peerId}`
    if (this.budgetRetries.has(key)) return
    this.budgetRetries.add(key)
    this.setTimer(() => {
      this.budgetRetries.delete(key)
      if (this.tasks.get(task.id) === task) this.markDirty(task, peerId)
    }, this.poolBudget.retryMs)
  }

  /** Parent choice (parent-selection.ts), with this swarm's settings and state. */
  chooseParents (task: TaskRecord, m: Member, peer: PeerRecord): Parent[] {
    return chooseParents(this.selection, task, m, peer)
  }

  /** JSON views for the HTTP API (views.ts). */
  peerList (): unknown[] { return peerList(this.peers) }
  taskView (task: TaskRecord): unknown { return taskView(task, this.peers) }

}

/** A registration's data channel offer, when it is whole: what tickets for its children are made from. */
function dataOffer (reg: Register): PeerRecord['data'] {
  const port = reg.dataPort ?? 0
  const plainPort = reg.dataPlainPort ?? 0
  if (reg.dataSecret?.byteLength !== 32 || reg.dataHost == null || reg.dataHost === '' || port < 1 || port > 65535 || plainPort > 65535) return undefined
  // children are sent there: only to an address the peer also registered for libp2p, so a member
  // cannot point every child's data channel at some other host
  const host = reg.dataHost
  if (!reg.addrs.some((a) => a.startsWith(`/ip4/${host}/`) || a.startsWith(`/ip6/${host}/`))) return undefined
  return { secret: reg.dataSecret, host: reg.dataHost, port, plainPort, tls: reg.dataTls === true || plainPort === 0 }
}
