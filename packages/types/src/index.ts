/**
 * Contracts shared by every Damselfly package. Types only (plus the error
 * classes, which are part of the contract because they cross package and
 * process boundaries by `name`/`code`).
 */

export * from './errors.js'

export interface TaskRequest {
  /** origin URL (http, https, s3, hf, oci …) */
  url: string
  /** request headers for the origin (auth, cookies …); never sent to other peers' logs */
  headers?: Record<string, string>
  tag?: string
  application?: string
  /** query parameters dropped from the URL when computing the task id */
  filteredQueryParams?: string[]
  /** fixed piece length; undefined = derive from the content length */
  pieceLength?: number
  /** known content digest, `sha256:<hex>` or `blake3:<hex>` */
  digest?: string
  /** byte range of the URL this task covers, `start-end` inclusive */
  range?: string
}

export interface PieceRange {
  index: number
  offset: number
  length: number
}

export interface TaskStats {
  taskId: string
  url: string
  contentLength: number
  pieceLength: number
  pieceCount: number
  piecesDone: number
  bytesDone: number
  bytesFromOrigin: number
  bytesFromSeed: number
  bytesFromPeers: number
  bytesUploaded: number
  digestMismatches: number
  state: 'pending' | 'running' | 'succeeded' | 'failed'
  error?: string
  startedAt: number
  finishedAt?: number
}

export interface PeerLabels {
  pool: string
  idc: string
  hostname: string
}

/** What a backend tells about an origin object before the download starts. */
export interface ObjectStat {
  /** -1 when the origin does not say */
  contentLength: number
  /** response headers worth keeping (etag, content-type …) */
  headers: Record<string, string>
  /** a content digest the origin vouches for, e.g. `sha256:<hex>` */
  digest?: string
  /** the URL after redirects */
  finalUrl?: string
  supportsRange: boolean
}

export interface GetOptions {
  /** first byte, inclusive */
  start?: number
  /** last byte, inclusive; undefined = to the end */
  end?: number
  signal?: AbortSignal
}

export interface GetResult {
  status: number
  /** offset of the first byte of `body` in the object */
  start: number
  body: AsyncIterable<Uint8Array>
  contentLength: number
  headers: Record<string, string>
}

/** One object a URL names, as a backend lists it. */
export interface ObjectEntry {
  /** a URL of the same backend naming exactly this object (revision pinned where the origin has them) */
  url: string
  /** path relative to the listed URL, `/`-separated; where it goes under `-O dir` */
  path: string
  /** -1 when the listing does not say */
  contentLength: number
  /** content digest the origin vouches for, `sha256:<hex>` */
  digest?: string
}

/** An origin, chosen by URL scheme. */
export interface Backend {
  readonly schemes: string[]
  stat(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<ObjectStat>
  get(url: string, headers: Record<string, string>, options: GetOptions): Promise<GetResult>
  /**
   * The objects a URL names, with the digests the origin vouches for, before any download
   * starts (so task ids can be content-addressed): the one object it names, or with
   * `recursive` every object under it (a directory, a repository, a prefix). Backends
   * with neither a listing nor a digest known up front leave it out.
   */
  list?(url: string, headers: Record<string, string>, options?: ListOptions): Promise<ObjectEntry[]>
}

export interface ListOptions {
  recursive?: boolean
  signal?: AbortSignal
}

/** A long-lived service, started and stopped with the rest of its daemon. */
export interface Startable {
  start(): Promise<void>
  stop(): Promise<void>
}

/** Hashes pieces with BLAKE3. Buffers are moved to workers and handed back. */
export interface Hasher extends Startable {
  hash(buf: Uint8Array): Promise<{ digest: Uint8Array, buf: Uint8Array }>
}

/** Progress events the local API streams to `damselfly get`. */
export type ProgressEvent =
  | { type: 'started', taskId: string, contentLength: number, pieceLength: number }
  | { type: 'progress', taskId: string, bytesDone: number, contentLength: number }
  | { type: 'done', taskId: string, stats: TaskStats, output?: string }
  | { type: 'error', taskId?: string, error: { name: string, code: string, message: string } }
