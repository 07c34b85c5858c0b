/** the libp2p protocol a peer keeps its scheduler session on (one per scheduler) */
export const SCHEDULER_PROTOCOL = '/damselfly/scheduler/1.0.0'
/** how often a scheduler sends each session a Heartbeat (scheduler.proto), unless configured otherwise */
export const DEFAULT_HEARTBEAT_MS = 10_000
/** either end of a session closes it after hearing nothing for this many heartbeat intervals */
export const SILENT_HEARTBEATS = 3
/** the longest heartbeat interval a peer takes from a scheduler (a longer one is read as this) */
export const MAX_HEARTBEAT_MS = 3_600_000
/** largest scheduler message either side accepts */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024
/** a peer's first message (its registration) may be this big at most: nothing more is buffered before it is authorised */
export const MAX_FIRST_MESSAGE_BYTES = 64 * 1024
/** Announce / SeedRequest fields for a task id computed from the URL (or digest) alone */
export const NO_TASK_KEY_PARTS = { tag: '', application: '', filteredQueryParams: [] as string[], range: '' }
/** how long a grant (scheduler.proto) is valid; the scheduler re-issues it well before it ends */
export const GRANT_TTL_MS = 10 * 60_000
/** a grant older than this is re-issued with the member's next update */
export const GRANT_REFRESH_MS = GRANT_TTL_MS / 2
