/** parents handed to one peer for one task */
export const DEFAULT_MAX_PARENTS = 6
/** peers per node pool that may fetch across pools (from the seed or other pools) */
export const DEFAULT_CROSS_POOL_FETCHERS = 1
/** how long piece reports are gathered before updates go out */
export const DEFAULT_FLUSH_MS = 20
/** digest-mismatch or failure reports after which a parent is blocked for the whole task */
export const DEFAULT_BLOCK_AFTER_FAILURES = 3
/**
 * after a (re)start, how long seed peers get to re-register before a task
 * with no seed is sent back to source: peers often reconnect first, and
 * without this every one of them would hit the origin
 */
export const DEFAULT_SEED_GRACE_MS = 5000
export const SCHEDULER_PROTOCOL = '/damselfly/scheduler/1.0.0'
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024
/** pieces per task the scheduler tracks at most (4 Mi pieces: 256 TiB at 64 MiB, 16 TiB at 4 MiB) */
export const MAX_PIECES = 1 << 22
