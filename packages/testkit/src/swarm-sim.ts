import { Swarm, type SwarmInit } from '@damselfly/scheduler-core'
import { Bitfield, pieceCount } from '@damselfly/utils'
import { FailureKind, NO_TASK_KEY_PARTS, type SchedulerMessage, type TaskUpdate, type PeerMessage } from '@damselfly/proto'
import type { Send } from '@damselfly/scheduler-core'

/** A clock the simulation advances by hand, so every run is identical. */
export class FakeClock {
  now = 0
  private timers: Array<{ at: number, seq: number, fn: () => void }> = []
  private seq = 0

  setTimer = (fn: () => void, ms: number): unknown => {
    this.timers.push({ at: this.now + ms, seq: this.seq++, fn })
    return undefined
  }

  advance (ms: number): void {
    const until = this.now + ms
    while (true) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq)
      const t = this.timers[0]
      if (t == null || t.at > until) break
      this.timers.shift()
      this.now = t.at
      t.fn()
    }
    this.now = until
  }
}

/** mulberry32: a tiny seeded PRNG for deterministic tie-breaks */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface SimPeerInit {
  pool: string
  seed?: boolean
  uploadSlots?: number
  /** serves pieces whose bytes do not match the manifest */
  corrupt?: boolean
}

interface Transfer { index: number, from: string, doneAt: number }

export interface SimPeer extends Required<SimPeerInit> {
  id: string
  send: Send
  have?: Bitfield
  plan?: TaskUpdate
  manifest: Set<number>
  inflight: Transfer[]
  uploading: number
  uploadedPieces: number
  /** pieces received, by the pool they came from ('origin' for the seed's own fetch) */
  receivedFrom: Map<string, number>
  /** every piece index this peer served, in order */
  served: number[]
  blocked: Set<string>
  done: boolean
  alive: boolean
  seeding: boolean
  mismatches: number
}

export interface SimInit {
  swarm?: SwarmInit
  /** piece transfer time between peers @default 10 */
  transferMs?: number
  /** time the seed needs per piece from the origin @default 10 */
  originMsPerPiece?: number
  /** pieces in flight per downloading peer @default 4 */
  perPeerInflight?: number
  seed?: number
}

/**
 * An in-process swarm around the real scheduler logic: simulated peers
 * follow the plans the Swarm sends them (rarest first by the swarm's
 * availability, several pieces in flight, upload slots honoured), on a fake
 * clock so every run is the same.
 */
export class SwarmSim {
  readonly clock = new FakeClock()
  readonly swarm: Swarm
  readonly peers = new Map<string, SimPeer>()
  readonly rand: () => number
  private readonly transferMs: number
  private readonly originMs: number
  private readonly perPeer: number
  private task?: { id: string, size: number, pieceLength: number }

  constructor (init: SimInit = {}) {
    this.swarm = new Swarm({ flushMs: 5, trustTaskIds: true, ...init.swarm, setTimer: this.clock.setTimer, now: () => this.clock.now })
    this.transferMs = init.transferMs ?? 10
    this.originMs = init.originMsPerPiece ?? 10
    this.perPeer = init.perPeerInflight ?? 4
    this.rand = prng(init.seed ?? 1)
  }

  addPeer (id: string, init: SimPeerInit): SimPeer {
    const peer: SimPeer = {
      id, pool: init.pool, seed: init.seed ?? false, uploadSlots: init.uploadSlots ?? 4, corrupt: init.corrupt ?? false,
      send: (msg) => { this.deliver(peer, msg) },
      manifest: new Set(), inflight: [], uploading: 0, uploadedPieces: 0, receivedFrom: new Map(), served: [],
      blocked: new Set(), done: false, alive: true, seeding: false, mismatches: 0
    }
    this.peers.set(id, peer)
    this.swarm.register(id, { addrs: [`/sim/${id}`], pool: peer.pool, idc: '', hostname: id, seed: peer.seed, uploadSlots: peer.uploadSlots, token: '', tasks: [] }, peer.send)
    return peer
  }

  /** Every non-seed peer in `ids` asks for the task. */
  download (taskId: string, size: number, pieceLength: number, ids: string[]): void {
    this.task = { id: taskId, size, pieceLength }
    for (const id of ids) this.msg(id, { announce: { taskId, url: `sim://${taskId}`, headers: [], pieceLength, digest: '', ...NO_TASK_KEY_PARTS } })
  }

  kill (id: string): void {
    const p = this.peers.get(id)!
    p.alive = false
    this.swarm.disconnect(id, p.send)
  }

  private msg (id: string, m: Partial<PeerMessage>): void {
    if (this.peers.get(id)?.alive === true) this.swarm.handle(id, m as PeerMessage)
  }

  private deliver (peer: SimPeer, msg: Partial<SchedulerMessage>): void {
    if (!peer.alive) return
    if (msg.seed != null) {
      peer.seeding = true
      const { size, pieceLength } = this.task!
      peer.have = new Bitfield(pieceCount(size, pieceLength))
      this.msg(peer.id, { meta: { taskId: msg.seed.taskId, contentLength: size, pieceLength, url: '' } })
    }
    if (msg.update != null) {
      peer.plan = msg.update
      for (const d of msg.update.digests) peer.manifest.add(d.index)
      if (peer.have == null && msg.update.contentLength >= 0) peer.have = new Bitfield(pieceCount(msg.update.contentLength, msg.update.pieceLength))
    }
  }

  get pieceTotal (): number { return pieceCount(this.task!.size, this.task!.pieceLength) }

  /** Runs until every live downloader is done or `maxMs` passes; returns the elapsed time. */
  run (maxMs = 600_000, stepMs = 1, onStep?: (t: number) => void): number {
    const start = this.clock.now
    let nextOrigin = start + this.originMs
    while (this.clock.now - start < maxMs) {
      this.clock.advance(stepMs)
      const now = this.clock.now
      // seeds pull from the origin at their own pace
      for (const p of this.peers.values()) {
        if (!p.alive || !p.seeding || p.have == null || p.have.complete || now < nextOrigin) continue
        const i = p.have.cardinality
        p.have.set(i)
        p.receivedFrom.set('origin', (p.receivedFrom.get('origin') ?? 0) + 1)
        this.msg(p.id, { pieces: { taskId: this.task!.id, indexes: [i], digests: [{ index: i, digest: digestOf(i) }], parentId: '', costMs: 0 } })
        if (p.have.complete) this.msg(p.id, { finished: { taskId: this.task!.id, success: true, error: '' } })
      }
      if (now >= nextOrigin) nextOrigin = now + this.originMs
      this.completeTransfers(now)
      this.startTransfers(now)
      onStep?.(now)
      const downloaders = [...this.peers.values()].filter((p) => p.alive && !p.seed)
      if (downloaders.length > 0 && downloaders.every((p) => p.done)) break
    }
    return this.clock.now - start
  }

  private completeTransfers (now: number): void {
    for (const p of this.peers.values()) {
      if (!p.alive) continue
      const finished = p.inflight.filter((t) => t.doneAt <= now)
      p.inflight = p.inflight.filter((t) => t.doneAt > now)
      for (const t of finished) {
        const parent = this.peers.get(t.from)!
        parent.uploading--
        if (!parent.alive) {
          this.msg(p.id, { failure: { taskId: this.task!.id, parentId: t.from, index: t.index, kind: FailureKind.CONNECTION, message: 'gone' } })
          continue
        }
        if (parent.corrupt) {
          p.mismatches++
          p.blocked.add(t.from)
          this.msg(p.id, { failure: { taskId: this.task!.id, parentId: t.from, index: t.index, kind: FailureKind.DIGEST_MISMATCH, message: 'bad' } })
          continue
        }
        if (p.have!.set(t.index)) {
          parent.uploadedPieces++
          p.receivedFrom.set(parent.pool, (p.receivedFrom.get(parent.pool) ?? 0) + 1)
          this.msg(p.id, { pieces: { taskId: this.task!.id, indexes: [t.index], digests: [], parentId: t.from, costMs: this.transferMs } })
        }
        if (p.have!.complete && !p.done) {
          p.done = true
          this.msg(p.id, { finished: { taskId: this.task!.id, success: true, error: '' } })
        }
      }
    }
  }

  private startTransfers (now: number): void {
    const order = [...this.peers.values()].filter((p) => p.alive && !p.seed && !p.done && p.plan != null && p.have != null)
    for (const p of order) {
      const plan = p.plan!
      const parents = plan.parents.filter((x) => !p.blocked.has(x.peerId) && this.peers.get(x.peerId)?.alive === true)
      while (p.inflight.length < this.perPeer) {
        let best: { index: number, from: SimPeer, rarity: number } | undefined
        for (const par of parents) {
          const from = this.peers.get(par.peerId)!
          if (from.uploading >= from.uploadSlots || from.have == null) continue
          // the parent's bitfield as the plan described it, limited to what it really holds now
          const have = new Bitfield(from.have.size, par.have)
          for (const i of have.indexes()) {
            if (!from.have.get(i) || p.have!.get(i) || !p.manifest.has(i) || p.inflight.some((t) => t.index === i)) continue
            const rarity = plan.availability?.[i] ?? 0
            if (best == null || rarity < best.rarity || (rarity === best.rarity && this.rand() < 0.5)) best = { index: i, from, rarity }
          }
        }
        if (best == null) break
        best.from.uploading++
        best.from.served.push(best.index)
        p.inflight.push({ index: best.index, from: best.from.id, doneAt: now + this.transferMs })
      }
    }
  }
}

function digestOf (i: number): Uint8Array<ArrayBuffer> {
  const d = new Uint8Array(32)
  new DataView(d.buffer).setUint32(0, i)
  return d
}
