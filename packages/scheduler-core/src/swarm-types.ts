import type { Bitfield } from '@damselfly/utils'
import type { SchedulerMessage, Grant } from '@damselfly/proto'

export interface SwarmInit {
  /** @default 6 */
  maxParents?: number
  /** children per parent, on top of the parent's own upload slots @default the parent's upload slots */
  maxChildren?: number
  /** @default 1 */
  crossPoolFetchers?: number
  /** @default 20 */
  flushMs?: number
  /** @default 50 (never less than flushMs) */
  minFlushIntervalMs?: number
  /** piece progress reaches members at most this often while the origin still feeds the task @default 200 */
  originPhasePlanMs?: number
  /** @default 3 */
  blockAfterFailures?: number
  /** @default 1 */
  maxBackToSource?: number
  /**
   * let peers exchange pieces both ways (a mesh, as BitTorrent does) instead
   * of keeping the parent graph a DAG; the DAG costs the seed more upload in
   * a flat swarm (see the simulation test) but keeps every peer's pieces
   * flowing from the origin side
   * @default false
   */
  allowCycles?: boolean
  /** @default 5000 */
  seedGraceMs?: number
  /** bytes/s each node pool may take in and send out across pools (see PoolBudget); 0 = unlimited @default 0 */
  poolWanBudget?: number
  /**
   * take announced task ids on trust instead of recomputing them from the request: only for
   * simulations and benchmarks whose tasks have made-up ids
   * @default false
   */
  trustTaskIds?: boolean
  /**
   * cache import: a registered peer may publish the manifest of a task nobody has a
   * manifest for and no seed is fetching, and so becomes that task's seed (not a seed
   * peer: it is trusted for no other task). Any cluster member can then name content
   * before its origin is asked, so it is off unless the operator wants imports.
   * @default false
   */
  allowImport?: boolean
  /** timer hook, replaced by a fake clock in simulations */
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
  /** its data channel, when it gave us a ticket secret for it: never shown, never sent on */
  data?: { secret: Uint8Array, host: string, port: number, plainPort: number, tls: boolean }
  send: Send
  tasks: Set<string>
  registeredAt: number
  /** bytes children reported receiving from this peer */
  uploaded: number
  /** pieces children reported receiving from this peer */
  piecesServed: number
  /** failures children reported against this peer */
  failures: number
  /** sum of reported piece costs, for an average */
  costMs: number
  costCount: number
  /** bytes of its members' pendingHave bitfields (bounded by MAX_PENDING_HAVE_BYTES_PER_PEER) */
  pendingHaveBytes: number
}

export interface Member {
  peerId: string
  have: Bitfield
  parents: string[]
  /** parents this member was sent a data channel ticket for, and until when it is valid */
  ticketsUntil: Map<string, number>
  /** parents this member must not use (bad pieces, repeated failures) */
  blocked: Set<string>
  failuresBy: Map<string, number>
  /** how far into the task's manifest log this member has been sent */
  manifestCursor: number
  done: boolean
  /** designated by the scheduler to fetch from the origin (its digests are trusted like a seed's) */
  backToSource: boolean
  joinedAt: number
  /** announced (downloading) rather than only holding pieces from a re-registration */
  wants: boolean
  /** bitfield re-registered before the task's geometry was known again */
  pendingHave?: Uint8Array
  /** the scheduler's grant to fetch this task's pieces, and when it was issued */
  grant?: Grant
  grantAt?: number
  granting?: boolean
}

/** What a task id is computed from besides the URL and digest (see taskIdFor). */
export interface TaskKeyParts {
  tag: string
  application: string
  filteredQueryParams: string[]
  range: string
}

export interface TaskRecord extends TaskKeyParts {
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
  /** holders per piece */
  availability: Uint16Array
  /** current children per parent */
  children: Map<string, number>
  seedPeer?: string
  seedState: 'none' | 'running' | 'done' | 'failed'
  /** origin attempts that failed (seeds and back-to-source peers) */
  originFailures: number
  lastError: string
  /** peers blocked for the whole task */
  blocked: Set<string>
  /** children that caught each parent serving a corrupt piece */
  mismatchesBy: Map<string, Set<string>>
  createdAt: number
  backToSourceCount: number
  /** bytes received, keyed `fromPool>toPool` (`origin>pool` for back-to-source), for cross-pool accounting */
  bytesByEdge: Map<string, number>
  /** piece progress waiting to go out as plans (see originPhasePlanMs) */
  progressPending?: boolean
}
