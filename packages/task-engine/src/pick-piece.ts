import type { Bitfield } from '@damselfly/utils'

/** copies of one piece in flight at most, in endgame */
export const ENDGAME_COPIES = 2

/** One parent as piece selection sees it. */
export interface PickParent {
  peerId: string
  have: Bitfield
  /** in another node pool: its pieces cross the WAN */
  crossPool: boolean
  blocked: boolean
}

/** What piece selection reads of a download, without the download. */
export interface PickState {
  /** stored and verified here already */
  hasPiece: (index: number) => boolean
  /** its digest is known (from the seeds' manifest): only such pieces can be verified, so fetched */
  verifiable: (index: number) => boolean
  /** pieces in flight, with the parents asked */
  inflight: ReadonlyMap<number, ReadonlyArray<{ parent: string }>>
  /** swarm-wide holders per piece, from the scheduler; without it, counted among `parents` */
  availability?: Uint8Array
  /** pieces not stored yet */
  remaining: number
  /** every usable parent (the candidate among them) */
  parents: readonly PickParent[]
  /** for breaking ties between equally rare pieces @default Math.random */
  random?: () => number
}

/**
 * The piece to ask `parent` for next, or -1: the rarest piece it has that we need, verifiable
 * and not in flight (ties broken at random, so children spread over the pieces); never across
 * the WAN what a member of our own pool holds; once everything left is in flight (endgame), a
 * second copy of one of those from another parent in our pool, so one slow parent cannot hold
 * up the last piece.
 */
export function pickPiece (parent: PickParent, s: PickState): number {
  const random = s.random ?? Math.random
  let best = -1
  let bestRarity = Infinity
  let ties = 0
  let endgameCandidate = -1
  for (const i of parent.have.indexes()) {
    if (s.hasPiece(i) || !s.verifiable(i)) continue
    // never across the WAN what a member of our own pool already holds (e.g. after the pool's fetcher died)
    if (parent.crossPool && s.parents.some((p) => !p.blocked && !p.crossPool && p.have.get(i))) continue
    const reqs = s.inflight.get(i)
    if (reqs != null) {
      // a second copy across the WAN costs the pool's link what it saves in time: endgame races stay in the pool
      if (reqs.length < ENDGAME_COPIES && !reqs.some((r) => r.parent === parent.peerId) && !parent.crossPool) endgameCandidate = i
      continue
    }
    let rarity = 0
    if (s.availability != null && i < s.availability.byteLength) rarity = s.availability[i]
    else for (const p of s.parents) if (p.have.get(i)) rarity++
    if (rarity < bestRarity) { best = i; bestRarity = rarity; ties = 1 } else if (rarity === bestRarity && random() * ++ties < 1) best = i
  }
  if (best >= 0) return best
  if (endgameCandidate >= 0 && s.remaining <= s.inflight.size) return endgameCandidate
  return -1
}
