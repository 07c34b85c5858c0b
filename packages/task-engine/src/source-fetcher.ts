import { pieceLengthFor, pieceRange, redactUrl, takeAll, type Logger, type RateLimiter } from '@damselfly/utils'
import { allocPieceBuffer, releasePieceBuffer } from '@damselfly/hasher'
import { OriginError, StorageError } from '@damselfly/types'
import type { Backend, Hasher, ObjectStat } from '@damselfly/types'
import type { TaskStore } from '@damselfly/storage'

export interface SourceFetchInit {
  backend: Backend
  url: string
  headers: Record<string, string>
  store: TaskStore
  hasher: Hasher
  log: Logger
  pieceLength?: number
  signal?: AbortSignal
  /** pieces hashed and written concurrently while the origin keeps streaming @default 4 */
  concurrency?: number
  /** attempts per run of missing pieces when the origin body breaks off @default 5 */
  attempts?: number
  /**
   * rate limits the origin's bytes are drawn from, chunk by chunk as they are read (a slower
   * reader backs the origin's TCP stream up, so the limit holds on the wire too)
   */
  limiters?: RateLimiter[]
  onMeta?: (contentLength: number, pieceLength: number) => void
  onPiece?: (index: number, digest: Uint8Array, bytes: number) => void
}

/**
 * Back-to-source: streams the origin into pieces, hashes and stores each as
 * soon as it is full, so it can be served before the rest has arrived.
 * Only pieces the store lacks are fetched (ranged requests per missing run),
 * which is what makes a restarted download resume.
 */
export async function fetchFromSource (init: SourceFetchInit): Promise<ObjectStat | undefined> {
  const { backend, url, headers, store, hasher, log } = init
  // what the origin said, when it was asked (a resumed task skips it): a digest it vouches for is the caller's to verify
  let stat: ObjectStat | undefined
  if (!store.initialised) {
    stat = await backend.stat(url, headers, init.signal)
    if (stat.contentLength < 0) throw new OriginError(`origin did not report a content length for ${redactUrl(url)}`)
    await store.initialise(stat.contentLength, init.pieceLength ?? pieceLengthFor(stat.contentLength))
  }
  init.onMeta?.(store.contentLength, store.pieceLength)
  const maxAttempts = init.attempts ?? 5
  for (const run of missingRuns(store)) {
    let next = run.first
    // attempts in a row that stored nothing: a link that keeps making progress is flaky, not dead
    let attempt = 0
    while (next <= run.last) {
      const from = next
      try {
        next = await fetchRun(init, next, run.last)
      } catch (err: any) {
        while (next <= run.last && store.hasPiece(next)) next++
        attempt = next > from ? 1 : attempt + 1
        // an HTTP error status was already retried with backoff by the HTTP client; retrying it here too multiplies the wait
        if (attempt >= maxAttempts || init.signal?.aborted === true || err?.originStatus >= 400 || err instanceof StorageError) throw err
        log.warn({ err: err.message, attempt, piece: next }, 'origin transfer broke off, resuming')
        await new Promise((resolve) => setTimeout(resolve, Math.min(200 * 2 ** attempt, 5000)))
      }
    }
  }
  return stat
}

/** Fetches pieces first..last in one ranged request; returns the first piece not stored. */
async function fetchRun (init: SourceFetchInit, first: number, last: number): Promise<number> {
  const { store, hasher } = init
  const start = first * store.pieceLength
  const lastRange = pieceRange(last, store.contentLength, store.pieceLength)
  const end = lastRange.offset + lastRange.length - 1
  const res = await init.backend.get(init.url, init.headers, { start, end, signal: init.signal })
  let skip = start - res.start // origin ignored Range: drop what precedes our run
  let index = first
  let piece = pieceRange(index, store.contentLength, store.pieceLength)
  let buf = allocPieceBuffer(piece.length)
  let filled = 0
  const inflight = new Set<Promise<void>>()
  const limit = init.concurrency ?? 4
  let failure: Error | undefined

  const finish = (i: number, b: Uint8Array): void => {
    const p = (async () => {
      const { digest, buf: back } = await hasher.hash(b)
      await store.writePiece(i, back, digest)
      const bytes = back.byteLength
      if (!store.handOver(i, back)) releasePieceBuffer(back)
      init.onPiece?.(i, digest, bytes)
    })().catch((err) => { failure ??= err }).finally(() => inflight.delete(p))
    inflight.add(p)
  }

  try {
    for await (const chunk0 of res.body) {
      let chunk = chunk0 as Uint8Array
      if (init.limiters != null) await takeAll(init.limiters, chunk.byteLength, init.signal)
      if (skip > 0) {
        if (chunk.byteLength <= skip) { skip -= chunk.byteLength; continue }
        chunk = chunk.subarray(skip)
        skip = 0
      }
      while (chunk.byteLength > 0 && index <= last) {
        const n = Math.min(chunk.byteLength, piece.length - filled)
        buf.set(n === chunk.byteLength ? chunk : chunk.subarray(0, n), filled)
        filled += n
        chunk = chunk.subarray(n)
        if (filled === piece.length) {
          finish(index, buf)
          index++
          if (index <= last) {
            piece = pieceRange(index, store.contentLength, store.pieceLength)
            buf = allocPieceBuffer(piece.length)
            filled = 0
          }
          // bounded buffering: stop reading the origin while hashing/writing lags
          while (inflight.size >= limit) await Promise.race(inflight)
          if (failure != null) throw failure
        }
      }
      if (index > last) break
    }
  } finally {
    await Promise.allSettled(inflight)
  }
  if (failure != null) throw failure
  if (index <= last) {
    throw new OriginError(`origin body ended early: got ${index * store.pieceLength + filled - start} of ${end - start + 1} bytes`)
  }
  return index
}

/** Runs of consecutive pieces the store lacks. */
export function missingRuns (store: TaskStore): Array<{ first: number, last: number }> {
  const runs: Array<{ first: number, last: number }> = []
  let first = -1
  for (let i = 0; i < store.pieceCount; i++) {
    if (!store.hasPiece(i)) { if (first < 0) first = i } else if (first >= 0) { runs.push({ first, last: i - 1 }); first = -1 }
  }
  if (first >= 0) runs.push({ first, last: store.pieceCount - 1 })
  return runs
}
