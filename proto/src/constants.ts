/** the libp2p protocol a peer keeps its scheduler session on (one per scheduler) */
export const SCHEDULER_PROTOCOL = '/damselfly/scheduler/1.0.0'
/** largest scheduler message either side accepts */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024
