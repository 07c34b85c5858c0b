import { Bitfield, pieceCount } from '@damselfly/utils'
import { FailureKind, type PeerMessage, type SchedulerMessage, type Register, type Announce, type TaskMeta, type PieceReport, type PieceFailure, type TaskFinished, type Parent } from '@damselfly/proto'
import { DEFAULT_MAX_PARENTS, DEFAULT_CROSS_POOL_FETCHERS, DEFAULT_FLUSH_MS, DEFAULT_BLOCK_AFTER_FAILURES, DEFAULT_SEED_GRACE_MS, MAX_PIECES } from './constants.js'

export interface SwarmInit {
  /** @default 6 */
  maxParents?: number
  /** @default 1 */
  crossPoolFetchers?: number
  /** @default 20 */
  flushMs?: number
  /** @default 3 */
  blockAfterFailures?: number
  /** @default 5000 */
  seedGraceMs?: number
  /** timer hooks, replaced by a fake clock in simulations */
  setTimer?: (fn: () => void, ms: number) => unknown
  now?: () => number
}

export type Send = (msg: Partial<SchedulerMessage>) => void

export interface PeerRecord {
  id: string
  addrs: string[]
  pool: string
  idc: string
  hostname: string
  seed: boolean
  uploadSlots: number
  send: Send
  tasks: Set<string>
  registeredAt: number
  /** bytes children reported receiving from this peer */
  uploaded: number
  /** failures children reported against this peer */
  failures: number
  /** sum of reported piece costs, for an average */
  costMs: number
  costCount: number
}

interface Member {
  peerId: string
  have: Bitfield
  parents: string[]
  /** parents this member must not use (bad pieces, repeated failures) */
  blocked: Set<string>
  failuresBy: Map<string, number>
  /** how far into the task's manifest log this member has been sent */
  manifestCursor: number
  done: boolean
  backToSource: boolean
  joinedAt: number
  /** announced (downloading) rather than only holding pieces from a re-registration */
  wants: boolean
  /** bitfield re-registered before the task's geometry was known again */
  pendingHave?: Uint8Array
}

export interface TaskRecord {
  id: string
  url: string
  headers: Array<{ name: string, value: string }>
  pieceLength: number
  digest: string
  contentLength: number
  pieceCount: number
  manifest: Array<Uint8Array | undefined>
  /** indexes in the order their digests arrived; members are sent the tail they have not seen */
  manifestLog: number[]
  members: Map<string, Member>
  seedPeer?: string
  seedState: 'none' | 'running' | 'done' | 'failed'
  /** peers blocked for the whole task */
  blocked: Set<string>
  createdAt: number
  backToSourceCount: number
  /** bytes received by members from each pool, for cross-pool accounting */
  bytesByEdge: Map<string, number>
}

/**
 * The scheduler's view of every task and peer, and its decisions. Pure
 * logic: messages in, messages out through each peer's `send`; no I/O, so it
 * runs the same in the daemon, the benchmark and a simulated swarm.
 */
export class Swarm {
  readonly peers = new Map<string, PeerRecord>()
  readonly tasks = new Map<string, TaskRecord>()
  private readonly dirty = new Map<string, Set<string>>()
  private flushScheduled = false
  private readonly maxParents: number
  private readonly crossPoolFetchers: number
  private readonly flushMs: number
  private readonly blockAfter: number
  private readonly seedGraceMs: number
  private readonly startedAt: number
  private readonly setTimer: (fn: () => void, ms: number) => unknown
  readonly now: () => number
  decisions = 0
  backToSourceDecisions = 0

  constructor (init: SwarmInit = {}) {
    this.maxParents = init.maxParents ?? DEFAULT_MAX_PARENTS
    this.crossPoolFetchers = init.crossPoolFetchers ?? DEFAULT_CROSS_POOL_FETCHERS
    this.flushMs = init.flushMs ?? DEFAULT_FLUSH_MS
    this.blockAfter = init.blockAfterFailures ?? DEFAULT_BLOCK_AFTER_FAILURES
    this.setTimer = init.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref())
    this.now = init.now ?? Date.now
    this.seedGraceMs = init.seedGraceMs ?? DEFAULT_SEED_GRACE_MS
    this.startedAt = this.now()
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
      send,
      tasks: old?.tasks ?? new Set(),
      registeredAt: this.now(),
      uploaded: old?.uploaded ?? 0,
      failures: old?.failures ?? 0,
      costMs: old?.costMs ?? 0,
      costCount: old?.costCount ?? 0
    }
    this.peers.set(peerId, peer)
    // soft state rebuilt from what the peer says it holds
    for (const t of reg.tasks.slice(0, 4096)) {
      if (t.meta == null || t.meta.contentLength < 0) continue
      const task = this.ensureTask(t.taskId, t.meta.url, [], t.meta.pieceLength, '')
      // geometry is part of the manifest: a normal peer's holdings wait for a seed to state it
      if (peer.seed) this.setGeometry(task, t.meta.contentLength, t.meta.pieceLength)
      const m = this.join(task, peerId, false)
      m.have = new Bitfield(task.pieceCount, t.have)
      if (task.contentLength < 0) m.pendingHave = t.have.slice(0, 1 << 20)
      m.done = t.done
      this.markTaskDirty(task)
    }
    // tasks announced before any seed was back (see seedGraceMs)
    if (peer.seed) for (const task of this.tasks.values()) if (task.seedState === 'none' && this.anyWants(task)) this.assignSeed(task)
  }

  private anyWants (task: TaskRecord): boolean {
    for (const m of task.members.values()) if (m.wants && !m.done) return true
    return false
  }

  /** A peer's stream closed: it leaves every swarm; its children get new parents. */
  disconnect (peerId: string, send: Send): void {
    const peer = this.peers.get(peerId)
    if (peer == null || peer.send !== send) return
    this.peers.delete(peerId)
    for (const taskId of peer.tasks) {
      const task = this.tasks.get(taskId)
      if (task == null) continue
      task.members.delete(peerId)
      if (task.seedPeer === peerId && task.seedState === 'running') {
        task.seedState = 'failed'
        this.assignSeed(task)
      }
      this.markTaskDirty(task)
      if (task.members.size === 0) this.tasks.delete(taskId)
    }
  }

  handle (peerId: string, msg: PeerMessage): void {
    const peer = this.peers.get(peerId)
    if (peer == null) return
    if (msg.announce != null) this.onAnnounce(peer, msg.announce)
    if (msg.meta != null) this.onMeta(peer, msg.meta)
    if (msg.pieces != null) this.onPieces(peer, msg.pieces)
    if (msg.failure != null) this.onFailure(peer, msg.failure)
    if (msg.finished != null) this.onFinished(peer, msg.finished)
    if (msg.leave != null) {
      const task = this.tasks.get(msg.leave.taskId)
      if (task != null) { task.members.delete(peerId); peer.tasks.delete(task.id); this.markTaskDirty(task) }
    }
  }

  private ensureTask (id: string, url: string, headers: Array<{ name: string, value: string }>, pieceLength: number, digest: string): TaskRecord {
    let task = this.tasks.get(id)
    if (task == null) {
      task = {
        id,
        url,
        headers,
        pieceLength,
        digest,
        contentLength: -1,
        pieceCount: 0,
        manifest: [],
        manifestLog: [],
        members: new Map(),
        seedState: 'none',
        blocked: new Set(),
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

  private join (task: TaskRecord, peerId: string, wants: boolean): Member {
    let m = task.members.get(peerId)
    if (m == null) {
      m = {
        peerId,
        have: new Bitfield(task.pieceCount),
        parents: [],
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
    if (wants) { m.wants = true; m.manifestCursor = 0 }
    return m
  }

  private setGeometry (task: TaskRecord, contentLength: number, pieceLength: number): void {
    if (task.contentLength >= 0 || contentLength < 0 || pieceLength <= 0) return
    // a bitfield per member is sized by this: refuse geometry no real task has
    if (pieceCount(contentLength, pieceLength) > MAX_PIECES) return
    task.contentLength = contentLength
    task.pieceLength = pieceLength
    task.pieceCount = pieceCount(contentLength, pieceLength)
    for (const m of task.members.values()) { m.have = new Bitfield(task.pieceCount, m.pendingHave ?? m.have.bytes); m.pendingHave = undefined }
  }

  private onAnnounce (peer: PeerRecord, a: Announce): void {
    const task = this.ensureTask(a.taskId, a.url, a.headers.slice(0, 64), a.pieceLength, a.digest)
    const m = this.join(task, peer.id, true)
    if (task.seedState === 'none' || task.seedState === 'failed') this.assignSeed(task)
    if (task.seedState !== 'running' && task.seedState !== 'done' && !(task.seedState === 'none' && this.inSeedGrace) && !this.anyHolder(task, peer.id)) {
      // nobody can serve it: this peer goes to the origin itself
      m.backToSource = true
      task.backToSourceCount++
      this.backToSourceDecisions++
    }
    this.markDirty(task, peer.id)
  }

  private anyHolder (task: TaskRecord, except: string): boolean {
    for (const m of task.members.values()) if (m.peerId !== except && m.have.cardinality > 0) return true
    return false
  }

  /** Picks the least loaded seed peer to fetch the task from the origin. */
  private assignSeed (task: TaskRecord): void {
    let best: PeerRecord | undefined
    for (const p of this.peers.values()) {
      if (!p.seed || task.blocked.has(p.id) || p.id === task.seedPeer) continue
      if (best == null || p.tasks.size < best.tasks.size) best = p
    }
    if (best == null && task.seedPeer != null && task.seedState !== 'failed') best = this.peers.get(task.seedPeer)
    if (best == null && task.seedState === 'none' && this.inSeedGrace) {
      this.setTimer(() => {
        if (this.tasks.get(task.id) === task && task.seedState === 'none') { this.assignSeed(task); this.markTaskDirty(task) }
      }, this.seedGraceMs - (this.now() - this.startedAt) + 1)
      return
    }
    if (best == null) {
      task.seedState = 'failed'
      // every downloader must now go to the origin itself
      for (const m of task.members.values()) {
        if (m.wants && !m.done && !m.backToSource) { m.backToSource = true; task.backToSourceCount++; this.backToSourceDecisions++ }
      }
      return
    }
    task.seedPeer = best.id
    task.seedState = 'running'
    this.join(task, best.id, false)
    best.send({ seed: { taskId: task.id, url: task.url, headers: task.headers, pieceLength: task.pieceLength, digest: task.digest } })
  }

  private onMeta (peer: PeerRecord, meta: TaskMeta): void {
    // geometry is part of the manifest: only seed peers may set it
    if (!peer.seed) return
    const task = this.tasks.get(meta.taskId)
    if (task == null) return
    this.setGeometry(task, meta.contentLength, meta.pieceLength)
    this.markTaskDirty(task)
  }

  private onPieces (peer: PeerRecord, r: PieceReport): void {
    const task = this.tasks.get(r.taskId)
    if (task == null) return
    const m = task.members.get(peer.id) ?? this.join(task, peer.id, false)
    for (const i of r.indexes) m.have.set(i)
    if (peer.seed) {
      for (const d of r.digests) {
        if (d.index >= task.pieceCount || d.digest.byteLength !== 32 || task.manifest[d.index] != null) continue
        task.manifest[d.index] = d.digest
        task.manifestLog.push(d.index)
      }
    }
    if (r.parentId !== '') {
      const parent = this.peers.get(r.parentId)
      if (parent != null) {
        const bytes = r.indexes.length * task.pieceLength
        parent.uploaded += bytes
        if (r.costMs > 0) { parent.costMs += r.costMs; parent.costCount += r.indexes.length }
        const edge = `${parent.pool}>${peer.pool}`
        task.bytesByEdge.set(edge, (task.bytesByEdge.get(edge) ?? 0) + bytes)
      }
    }
    this.markTaskDirty(task, peer.id)
  }

  private onFailure (peer: PeerRecord, f: PieceFailure): void {
    const task = this.tasks.get(f.taskId)
    const m = task?.members.get(peer.id)
    const parent = this.peers.get(f.parentId)
    if (task == null || m == null) return
    if (parent != null) parent.failures++
    const n = (m.failuresBy.get(f.parentId) ?? 0) + 1
    m.failuresBy.set(f.parentId, n)
    if (f.kind === FailureKind.DIGEST_MISMATCH || n >= this.blockAfter) m.blocked.add(f.parentId)
    // a parent that several children reject is bad for everyone
    let rejecting = 0
    for (const other of task.members.values()) if (other.blocked.has(f.parentId)) rejecting++
    if (rejecting >= 2 || (f.kind === FailureKind.DIGEST_MISMATCH && n >= 2)) task.blocked.add(f.parentId)
    this.markTaskDirty(task)
  }

  private onFinished (peer: PeerRecord, f: TaskFinished): void {
    const task = this.tasks.get(f.taskId)
    if (task == null) return
    const m = task.members.get(peer.id)
    if (task.seedPeer === peer.id) {
      if (f.success) task.seedState = 'done'
      else {
        task.seedState = 'failed'
        task.blocked.add(peer.id)
        this.assignSeed(task)
      }
    }
    if (m != null && f.success) { m.done = true; m.wants = false }
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
    this.setTimer(() => { this.flush() }, this.flushMs)
  }

  /** Sends every dirty member its current plan. */
  flush (): void {
    this.flushScheduled = false
    const dirty = [...this.dirty]
    this.dirty.clear()
    for (const [taskId, peerIds] of dirty) {
      const task = this.tasks.get(taskId)
      if (task == null) continue
      for (const peerId of peerIds) {
        const m = task.members.get(peerId)
        const peer = this.peers.get(peerId)
        if (m == null || peer == null) continue
        this.sendPlan(task, m, peer)
      }
    }
  }

  private sendPlan (task: TaskRecord, m: Member, peer: PeerRecord): void {
    const started = performance.now()
    const parents = m.backToSource ? [] : this.chooseParents(task, m, peer)
    m.parents = parents.map((p) => p.peerId)
    const digests = task.manifestLog.slice(m.manifestCursor).map((index) => ({ index, digest: task.manifest[index] as Uint8Array<ArrayBuffer> }))
    m.manifestCursor = task.manifestLog.length
    this.decisions++
    this.lastDecisionMs = performance.now() - started
    peer.send({
      update: {
        taskId: task.id,
        contentLength: task.contentLength,
        pieceLength: task.pieceLength,
        digests,
        parents,
        backToSource: m.backToSource,
        error: ''
      }
    })
  }

  lastDecisionMs = 0

  /**
   * Parent choice: candidates that hold something this member lacks (or are
   * the running seed), minus blocked ones; scored on node-pool affinity, how
   * much they can give, their load and their record. Within a pool only the
   * first `crossPoolFetchers` downloaders may use parents outside it; the
   * rest wait for pieces to arrive inside the pool.
   */
  chooseParents (task: TaskRecord, m: Member, peer: PeerRecord): Parent[] {
    const mayCross = this.mayCrossPools(task, m, peer)
    const scored: Array<{ p: PeerRecord, c: Member, score: number }> = []
    for (const c of task.members.values()) {
      if (c.peerId === m.peerId || m.blocked.has(c.peerId) || task.blocked.has(c.peerId)) continue
      const p = this.peers.get(c.peerId)
      if (p == null) continue
      const samePool = p.pool === peer.pool
      if (!samePool && !mayCross) continue
      const isRunningSeed = task.seedPeer === c.peerId && task.seedState !== 'failed'
      if (!isRunningSeed && !c.have.hasAnyMissingIn(m.have)) continue
      let children = 0
      for (const o of task.members.values()) if (o.parents.includes(c.peerId)) children++
      const load = children / p.uploadSlots
      const useful = task.pieceCount > 0 ? c.have.cardinality / task.pieceCount : 0
      const avgCost = p.costCount > 0 ? p.costMs / p.costCount : 0
      const score = (samePool ? 4 : 0) + (p.idc !== '' && p.idc === peer.idc ? 1 : 0) + 2 * useful - 2 * load -
        Math.min(2, p.failures / 5) - Math.min(1, avgCost / 5000) + (p.seed ? 0.5 : 0)
      scored.push({ p, c, score })
    }
    scored.sort((a, b) => b.score - a.score)
    return scored.slice(0, this.maxParents).map(({ p, c }) => ({
      peerId: p.id,
      addrs: p.addrs,
      have: c.have.bytes as Uint8Array<ArrayBuffer>,
      seed: p.seed,
      pool: p.pool
    }))
  }

  /** The first few downloaders of a pool (by join time) fetch across pools; seeds always may. */
  private mayCrossPools (task: TaskRecord, m: Member, peer: PeerRecord): boolean {
    if (peer.seed) return true
    const fetchers: Member[] = []
    for (const o of task.members.values()) {
      const op = this.peers.get(o.peerId)
      if (op == null || op.pool !== peer.pool || op.seed || o.backToSource) continue
      fetchers.push(o)
    }
    fetchers.sort((a, b) => a.joinedAt - b.joinedAt || (a.peerId < b.peerId ? -1 : 1))
    // a pool member that already has everything needs nobody; pick among those still downloading or complete
    return fetchers.slice(0, this.crossPoolFetchers).includes(m)
  }

  /** JSON views for the HTTP API. */
  peerList (): unknown[] {
    return [...this.peers.values()].map((p) => ({
      id: p.id, addrs: p.addrs, pool: p.pool, idc: p.idc, hostname: p.hostname, seed: p.seed,
      uploadSlots: p.uploadSlots, tasks: p.tasks.size, uploadedBytes: p.uploaded, failures: p.failures
    }))
  }

  taskView (task: TaskRecord): unknown {
    return {
      id: task.id,
      url: task.url.split('?')[0],
      contentLength: task.contentLength,
      pieceLength: task.pieceLength,
      pieceCount: task.pieceCount,
      manifestPieces: task.manifestLog.length,
      seedPeer: task.seedPeer,
      seedState: task.seedState,
      backToSourceCount: task.backToSourceCount,
      blocked: [...task.blocked],
      bytesByEdge: Object.fromEntries(task.bytesByEdge),
      peers: [...task.members.values()].map((m) => ({
        id: m.peerId,
        pool: this.peers.get(m.peerId)?.pool,
        pieces: m.have.cardinality,
        done: m.done,
        backToSource: m.backToSource,
        parents: m.parents
      }))
    }
  }
}
