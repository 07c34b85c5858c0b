export const PIECE_PROTOCOL = '/damselfly/piece/1.0.0'
/** a PieceRequest is a task id and an index; anything bigger is garbage */
export const MAX_REQUEST_BYTES = 1024
/** bytes a parent buffers from a link's requests before it stops reading (requests are tiny; a client pipelines a few) */
export const REQUEST_READER_BYTES = 64 * 1024
export const MAX_RESPONSE_HEADER_BYTES = 64
/** upper bound on a piece we accept on the wire (DESIGN.md: pieces are at most 64 MiB) */
export const MAX_PIECE_BYTES = 64 * 1024 * 1024
export const DEFAULT_PIECE_TIMEOUT_MS = 30_000
export const DEFAULT_MAX_INBOUND_STREAMS = 64
export const DEFAULT_STREAMS_PER_PARENT = 2
/**
 * piece bytes a peer's uploads hold in memory at once, across all streams: four 16 MiB pieces
 * (128 MiB let a peer of an 8 x 1 GiB swarm peak at 280-296 MiB RSS with 16 MiB pieces, 64 MiB
 * at 248-264 MiB, same time)
 */
export const DEFAULT_UPLOAD_BUFFER_BYTES = 64 * 1024 * 1024
/**
 * which pieces of a task a peer holds, asked of pool members directly when the
 * scheduler cannot be reached (edge autonomy): request a PieceRequest naming
 * the task, answer the holder's bitfield (empty: no such task)
 */
export const HAVE_PROTOCOL = '/damselfly/have/1.0.0'
/**
 * share of the upload budget one requesting peer may hold: a slow reader on many streams
 * cannot take it all (half of 64 MiB is two 16 MiB pieces: the one being sent and the next one
 * read ahead, or 8 pieces of 4 MiB)
 */
export const UPLOAD_SHARE_PER_PEER = 0.5
