import PQueue from 'p-queue'
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
  /**
   * runs one origin request (the stat, or a ranged GET with its retries) in a slot of this peer's
   * back-to-source concurrency, so the origin never sees more of this peer's requests at once than
   * it allows; none = at once
   */
  slot?: <T>(request: () => Promise<T>) => Promise<T>
  /**
   * this task's ranged origin requests, run at most `concurrency` at once: each missing run is
   * split into that many parts (as the queue allows when the task starts) fetched side by side.
   * The caller may change the concurrency while the task runs. @default one request at a time
   */
  requests?: PQueue
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
  const { backend, url, headers, store } = init
  const slot = init.slot ?? (async (request) => await request())
  // what the origin said, when it was asked (a resumed task skips it): a digest it vouches for is the caller's to verify
  let stat: ObjectStat | undefined
  if (!store.initialised) {
    stat = await slot(async () => await backend.stat(url, headers, init.signal))
    if (stat.contentLength < 0) throw new OriginError(`origin did not report a content length for ${redactUrl(url)}`)
    await store.initialise(stat.contentLength, init.pieceLength ?? pieceLengthFor(stat.contentLength))
  }
  init.onMeta?.(store.contentLength, store.pieceLength)
  const requests = init.requests ?? new PQueue({ concurrency: 1 })
  const parts = missingRuns(store).flatMap((run) => splitRun(run, requests.concurrency))
  // the first part to fail fails the task: the others stop instead of reading on for nothing
  const ctl = new AbortController()
  const signal = init.signal != null ? AbortSignal.any([init.signal, ctl.signal]) : ctl.signal
  const part = { ...init, signal }
  let failure: { err: unknown } | undefined
  // every part settles before this returns: none is still writing when the caller sees the outcome
  await Promise.all(parts.map(async (p) => {
    try {
      await requests.add(async () => { await slot(async () => { await fetchPart(part, p) }) }, { signal })
    } catch (err) {
      if (failure == null) { failure = { err }; ctl.abort(err) }
    }
  }))
  if (failure != null) throw failure.err
  return stat
}

/**
 * Pieces first..last, resumed where the origin body broke off; gives up after `attempts` tries in
 * a row that stored nothing (a link that keeps making progress is flaky, not dead).
 */
async function fetchPart (init: SourceFetchInit, run: { first: number, last: number }): Promise<void> {
  const { store, log } = init
  const maxAttempts = init.attempts ?? 5
  let next = run.first
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

/** A run of pieces cut into at most `parts` runs of nearly equal length, one ranged request each. */
export function splitRun (run: { first: number, last: number }, parts: number): Array<{ first: number, last: number }> {
  const pieces = run.last - run.first + 1
  const n = Math.max(1, Math.min(pieces, Number.isFinite(parts) ? Math.floor(parts) : pieces))
  const out: Array<{ first: number, last: number }> = []
  for (let k = 0, first = run.first; k < n; k++) {
    const len = Math.floor(pieces / n) + (k < pieces % n ? 1 : 0)
    out.push({ first, last: first + len - 1 })
    first += len
  }
  return out
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
