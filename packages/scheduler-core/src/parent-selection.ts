import { Bitfield } from '@damselfly/utils'
import type { Parent } from '@damselfly/proto'
import { SLOW_PARENT_FACTOR } from './constants.js'
import type { Member, PeerRecord, TaskRecord } from './swarm-types.js'

/** What parent choice reads of the swarm: its settings, its peers, the WAN budget. */
export interface SelectionContext {
  readonly peers: ReadonlyMap<string, PeerRecord>
  readonly maxParents: number
  /** children per parent; the parent's own upload slots when unset */
  readonly maxChildren?: number
  readonly crossPoolFetchers: number
  readonly allowCycles: boolean
  readonly poolBudget: { allows: (from: string, to: string) => boolean }
  /** whether a pool holds a seed peer: the cloud, one WAN link from every edge pool */
  readonly isCloudPool: (pool: string) => boolean
  /** a cross-pool parent was left out for the WAN budget: plan this member again later */
  onBudgetRefused: (task: TaskRecord, peerId: string) => void
}

/**
 * Parent choice: candidates that hold something this member lacks (or are
 * the running seed), minus blocked ones, full ones and those that would
 * close a cycle; scored on node-pool/idc affinity, what they can give,
 * their load, their success rate and piece cost. Within a pool only the
 * first `crossPoolFetchers` downloaders may use parents outside it; the
 * rest wait for pieces to arrive inside the pool. Outside its pool a member
 * is offered the cloud (pools holding a seed) and other edge pools only when
 * the cloud has no parent for it.
 */
export function chooseParents (s: SelectionContext, task: TaskRecord, m: Member, peer: PeerRecord): Parent[] {
  const mayCross = mayCrossPools(s, task, m, peer)
  const median = medianCost(s, task)
  const descendants = s.allowCycles ? undefined : descendantsOf(task, m.peerId)
  const scored: Array<{ p: PeerRecord, c: Member, score: number }> = []
  for (const c of task.members.values()) {
    if (c.peerId === m.peerId || m.blocked.has(c.peerId) || task.blocked.has(c.peerId)) continue
    const p = s.peers.get(c.peerId)
    if (p == null) continue
    const samePool = p.pool === peer.pool
    if (!samePool && !mayCross) continue
    if (!samePool && !s.poolBudget.allows(p.pool, peer.pool)) { s.onBudgetRefused(task, m.peerId); continue }
    const isRunningSeed = task.seedPeer === c.peerId && task.seedState === 'running'
    const isSourcing = c.backToSource && !c.done
    if (!isRunningSeed && !isSourcing && !c.have.hasAnyMissingIn(m.have)) continue
    const children = task.children.get(c.peerId) ?? 0
    const alreadyChild = m.parents.includes(c.peerId)
    if (!alreadyChild && children >= (s.maxChildren ?? p.uploadSlots)) continue
    if (descendants?.has(c.peerId) === true && !c.done) continue
    const load = children / p.uploadSlots
    const useful = task.pieceCount > 0 ? c.have.cardinality / task.pieceCount : 0
    const served = p.piecesServed + p.failures
    const successRate = served > 0 ? p.piecesServed / served : 1
    const avgCost = p.costCount > 0 ? p.costMs / p.costCount : 0
    const slow = median > 0 && avgCost > SLOW_PARENT_FACTOR * median
    const score = (samePool ? 4 : 0) + (p.idc !== '' && p.idc === peer.idc ? 1 : 0) +
      2 * useful - 2 * load - 3 * (1 - successRate) - (slow ? 1.5 : 0) + (alreadyChild ? 0.25 : 0)
    scored.push({ p, c, score })
  }
  // a byte from another edge pool crosses two WAN links (its uplink, then ours) where one from the
  // cloud crosses one: while a parent in the cloud can serve, no other pool's peer is offered
  const viaCloud = (p: PeerRecord): boolean => p.seed || s.isCloudPool(p.pool)
  const cloudCanServe = scored.some(({ p }) => p.pool !== peer.pool && viaCloud(p))
  const usable = cloudCanServe ? scored.filter(({ p }) => p.pool === peer.pool || viaCloud(p)) : scored
  usable.sort((a, b) => b.score - a.score)
  const chosen = usable.slice(0, s.maxParents)
  const others = chosen.filter(({ p, c }) => !p.seed && !c.backToSource).map(({ c }) => c.have)
  return chosen.map(({ p, c }) => ({
    peerId: p.id,
    addrs: p.addrs,
    have: (p.seed || c.backToSource ? superSeedView(task, c, m, others, (id) => s.peers.get(id)?.pool === peer.pool) : c.have.bytes) as Uint8Array<ArrayBuffer>,
    seed: p.seed || c.backToSource,
    pool: p.pool
  }))
}

/**
 * Super-seeding: a piece only an origin fetcher holds is offered to one of
 * its children (by index, round-robin over them); a piece others hold too
 * is offered only to a child none of whose other parents has it. So fresh
 * pieces leave the seed about once each and spread from the peers, instead
 * of every child asking the seed for piece 0. The round-robin is over the
 * children in `m`'s node pool: children in other pools cannot pass pieces
 * to `m` (that would cross the WAN twice), so each pool gets every piece
 * from the seed once (before, three pool leaders were each offered a third
 * of the fresh pieces and waited on each other for the rest).
 */
function superSeedView (task: TaskRecord, parent: Member, m: Member, others: Bitfield[], inPool: (peerId: string) => boolean): Uint8Array {
  const kids: string[] = []
  for (const o of task.members.values()) if (o.wants && !o.done && ((o.parents.includes(parent.peerId) && inPool(o.peerId)) || o === m)) kids.push(o.peerId)
  kids.sort()
  const slot = kids.indexOf(m.peerId)
  if (kids.length <= 1 || slot < 0) return parent.have.bytes
  const view = new Bitfield(task.pieceCount)
  for (const i of parent.have.indexes()) {
    if (m.have.get(i)) continue
    const elsewhere = others.some((b) => b.get(i))
    if (task.availability[i] >= 2 ? !elsewhere : i % kids.length === slot) view.set(i)
  }
  return view.bytes
}

/** Everyone below `root` in the parent graph: choosing any of them as its parent would close a cycle. */
export function descendantsOf (task: TaskRecord, root: string): Set<string> {
  const kids = new Map<string, string[]>()
  for (const o of task.members.values()) {
    for (const p of o.parents) {
      let l = kids.get(p)
      if (l == null) { l = []; kids.set(p, l) }
      l.push(o.peerId)
    }
  }
  const out = new Set<string>()
  const stack = [...(kids.get(root) ?? [])]
  while (stack.length > 0) {
    const id = stack.pop()!
    if (out.has(id)) continue
    out.add(id)
    stack.push(...(kids.get(id) ?? []))
  }
  return out
}

function medianCost (s: SelectionContext, task: TaskRecord): number {
  const costs: number[] = []
  for (const c of task.members.values()) {
    const p = s.peers.get(c.peerId)
    if (p != null && p.costCount > 0) costs.push(p.costMs / p.costCount)
  }
  if (costs.length < 3) return 0
  costs.sort((a, b) => a - b)
  return costs[Math.floor(costs.length / 2)]
}

/** The first few downloaders of a pool (by join time) fetch across pools; seeds always may. */
export function mayCrossPools (s: SelectionContext, task: TaskRecord, m: Member, peer: PeerRecord): boolean {
  if (peer.seed) return true
  const fetchers: Member[] = []
  for (const o of task.members.values()) {
    const op = s.peers.get(o.peerId)
    if (op == null || op.pool !== peer.pool || op.seed || o.backToSource) continue
    if (!o.wants && !o.done) continue
    fetchers.push(o)
  }
  fetchers.sort((a, b) => a.joinedAt - b.joinedAt || (a.peerId < b.peerId ? -1 : 1))
  return fetchers.slice(0, s.crossPoolFetchers).includes(m)
}
