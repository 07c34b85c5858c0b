/** parents handed to one peer for one task */
export const DEFAULT_MAX_PARENTS = 6
/** peers per node pool that may fetch across pools (from the seed or other pools) */
export const DEFAULT_CROSS_POOL_FETCHERS = 1
/** how long piece reports are gathered before updates go out */
export const DEFAULT_FLUSH_MS = 20
/**
 * least time between two rounds of updates: a busy swarm gets one plan per
 * member every 50 ms instead of every 20 (each is a libp2p message through
 * Noise and yamux on both sides; 8 peers x 1 GiB: 23.4 -> 20.7 CPU s), while
 * a quiet one still hears within 20 ms
 */
export const DEFAULT_MIN_FLUSH_INTERVAL_MS = 50
/**
 * while a task's pieces are still arriving from the origin (its manifest is incomplete), piece
 * reports reach the members as new plans at most this often. The swarm moves at the origin's pace
 * then, so a plan 200 ms later costs the finish nothing, and every plan is a libp2p message through
 * Noise and yamux on both ends, about 1 ms of CPU all in (16 peers x 512 MiB, 3 runs each: 2,800
 * plans at 50 ms, 850 at 200 ms, 20.8 -> 18.9 CPU s, same finish). Once the manifest is complete the
 * tail decides the finish, and progress goes out every minFlushIntervalMs again.
 */
export const DEFAULT_ORIGIN_PHASE_PLAN_MS = 200
/** failure reports from one child after which it stops using a parent */
export const DEFAULT_BLOCK_AFTER_FAILURES = 3
/**
 * after a (re)start, how long seed peers get to re-register before a task
 * with no seed is sent back to source: peers often reconnect first, and
 * without this every one of them would hit the origin
 */
export const DEFAULT_SEED_GRACE_MS = 5000
/** peers of a task that may go to the origin at once when no seed can serve it */
export const DEFAULT_MAX_BACK_TO_SOURCE = 1
/** failed origin attempts (seed or back-to-source peers) after which every peer may try the origin itself */
export const DEFAULT_ORIGIN_FAILURES_BEFORE_FREE_FOR_ALL = 2
/** a parent whose average piece cost exceeds this multiple of the task's median is an outlier */
export const SLOW_PARENT_FACTOR = 3
/** pieces per task the scheduler tracks at most (4 Mi pieces: 256 TiB at 64 MiB, 16 TiB at 4 MiB) */
export const MAX_PIECES = 1 << 22
/** tasks one peer may be a member of (announced or re-registered); seeds are trusted with more */
export const MAX_TASKS_PER_PEER = 1024
export const MAX_TASKS_PER_SEED = 16384
/**
 * bytes of holdings bitfields one peer may have remembered for tasks whose geometry is not known
 * yet (after a scheduler restart, until a seed states it): without a bound, 1,024 tasks × 1 MiB
 * bitfields from one peer held a gigabyte
 */
export const MAX_PENDING_HAVE_BYTES_PER_PEER = 8 * 1024 * 1024
/** tasks the scheduler tracks at once; announces past this are refused */
export const MAX_TASKS = 65536
/** a preheat job is kept for polling this long */
export const PREHEAT_TTL_MS = 60 * 60_000
export const MAX_PREHEAT_JOBS = 1024
/** pieces of all tasks the scheduler tracks at most (each costs a few bytes per member): 64 Mi */
export const MAX_TOTAL_PIECES = 1 << 26
/** parents a member holds a ticket for, remembered at most (see ticketsUntil) */
export const MAX_TICKETED_PARENTS = 64
/** how long a data channel ticket the scheduler makes is valid; a fresh one goes out at half-life */
export const TICKET_TTL_MS = 60_000
