import { Transform } from 'node:stream'
/**
 * Bytes a bulk transfer hands to (or takes from) the network per token take:
 * small enough that a limit holds within a few percent over seconds and that a
 * changed limit applies within one chunk, big enough that taking tokens costs
 * nothing next to moving the bytes.
 */
export const LIMIT_CHUNK_BYTES = 256 * 1024

/** how long the current-rate estimate looks back */
const RATE_WINDOW_MS = 5000
const RATE_SLOT_MS = 250

interface Waiter {
  n: number
  since: number
  resolve: () => void
  reject: (err: Error) => void
  signal?: AbortSignal
  onAbort?: () => void
}

/**
 * A token bucket for bytes, shared by every transfer that draws on one limit
 * (all uploads of a peer, all its origin fetches, ...). Takers are served
 * first come, first served, so one transfer cannot starve the others, and a
 * take larger than the burst is granted once the bucket holds a full burst,
 * leaving it in debt: the long-run rate is exact and the burst stays bounded
 * whatever the callers' chunk size. The rate can change at any moment; takers
 * already waiting are re-timed against the new rate. Rate 0 means unlimited
 * (takes return at once but are still counted, so the current rate is known).
 *
 * Hand-written rather than the npm `limiter`: that one refuses takes larger
 * than its bucket, cannot be re-rated while callers wait, takes no
 * AbortSignal and does not tell how long callers waited.
 */
export class RateLimiter {
  private _rate: number
  private _burst: number
  private readonly fixedBurst?: number
  private tokens: number
  private last = performance.now()
  private readonly queue: Waiter[] = []
  private timer?: NodeJS.Timeout
  /** seconds takers spent waiting for tokens, summed over takers */
  waitSeconds = 0
  /** bytes taken since start */
  bytes = 0
  private readonly slots = new Float64Array(RATE_WINDOW_MS / RATE_SLOT_MS)
  private slotAt = Math.floor(performance.now() / RATE_SLOT_MS)

  /**
   * @param rate bytes per second; 0 = unlimited
   * @param burst bytes that may pass at once after a quiet spell @default max(rate / 20, LIMIT_CHUNK_BYTES)
   */
  constructor (rate = 0, burst?: number) {
    this.fixedBurst = burst
    this._rate = Math.max(0, rate)
    this._burst = this.burstFor(this._rate)
    this.tokens = this._burst
  }

  get rate (): number { return this._rate }
  get burst (): number { return this._burst }
  get limited (): boolean { return this._rate > 0 }
  /** takers waiting for tokens now */
  get waiting (): number { return this.queue.length }

  /** Changes the rate (0 = unlimited); waiting takers are re-timed against it at once. */
  setRate (rate: number): void {
    if (!Number.isFinite(rate) || rate < 0) throw new RangeError(`rate must be a non-negative number of bytes per second, got ${rate}`)
    this.refill()
    this._rate = rate
    this._burst = this.burstFor(rate)
    // a lowered limit must not leave a stored burst of the old size behind
    this.tokens = Math.min(this.tokens, this._burst)
    this.pump()
  }

  /** Resolves once `n` bytes may pass; rejects with the signal's reason when it aborts first. */
  async take (n: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    this.count(n)
    if (!this.limited) return
    if (this.queue.length === 0) {
      this.refill()
      if (this.tokens >= Math.min(n, this._burst)) { this.tokens -= n; return }
    }
    await new Promise<void>((resolve, reject) => {
      const w: Waiter = { n, since: performance.now(), resolve, reject, signal }
      if (signal != null) {
        w.onAbort = () => {
          const i = this.queue.indexOf(w)
          if (i >= 0) this.queue.splice(i, 1)
          this.bytes -= n
          this.waitSeconds += (performance.now() - w.since) / 1000
          reject(signal.reason ?? new Error('aborted'))
          // the taker behind it may fit now
          this.pump()
        }
        signal.addEventListener('abort', w.onAbort, { once: true })
      }
      this.queue.push(w)
      this.pump()
    })
  }

  /** Bytes per second taken over the last few seconds. */
  currentRate (): number {
    this.rollSlots()
    let sum = 0
    for (const v of this.slots) sum += v
    return sum / (RATE_WINDOW_MS / 1000)
  }

  private burstFor (rate: number): number {
    return this.fixedBurst ?? Math.max(rate / 20, LIMIT_CHUNK_BYTES)
  }

  private refill (): void {
    const now = performance.now()
    if (this._rate > 0) this.tokens = Math.min(this._burst, this.tokens + (now - this.last) / 1000 * this._rate)
    this.last = now
  }

  /** Grants waiting takers in order while tokens last; arms one timer for the first that must wait. */
  private pump (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.refill()
    while (this.queue.length > 0) {
      const w = this.queue[0]
      if (this.limited) {
        const need = Math.min(w.n, this._burst)
        if (this.tokens < need) {
          this.timer = setTimeout(() => { this.pump() }, Math.max(1, Math.ceil((need - this.tokens) / this._rate * 1000)))
          return
        }
        this.tokens -= w.n
      }
      this.queue.shift()
      if (w.onAbort != null) w.signal?.removeEventListener('abort', w.onAbort)
      this.waitSeconds += (performance.now() - w.since) / 1000
      w.resolve()
    }
  }

  private count (n: number): void {
    this.bytes += n
    this.rollSlots()
    this.slots[this.slotAt % this.slots.length] += n
  }

  private rollSlots (): void {
    const now = Math.floor(performance.now() / RATE_SLOT_MS)
    for (let s = Math.max(this.slotAt + 1, now - this.slots.length + 1); s <= now; s++) this.slots[s % this.slots.length] = 0
    this.slotAt = Math.max(this.slotAt, now)
  }
}

/** Takes `n` bytes from every limiter given (the total limit, then a narrower one), in order. */
export async function takeAll (limiters: Iterable<RateLimiter | undefined>, n: number, signal?: AbortSignal): Promise<void> {
  for (const l of limiters) if (l != null) await l.take(n, signal)
}

/**
 * A pass-through stream whose bytes are drawn from `limiters` (in slices of at most
 * LIMIT_CHUNK_BYTES, each after its tokens), for bodies relayed as streams (the proxy's
 * pass-through answers and tunnels): a slower reader backs the sender's TCP stream up, so the
 * limit holds on the wire. Destroying it abandons the tokens it was waiting for.
 */
export function throttle (limiters: ReadonlyArray<RateLimiter | undefined>): Transform {
  const ctl = new AbortController()
  return new Transform({
    transform (chunk: Buffer, _encoding, done) {
      (async () => {
        for (let off = 0; off < chunk.byteLength; off += LIMIT_CHUNK_BYTES) {
          const part = chunk.subarray(off, off + LIMIT_CHUNK_BYTES)
          await takeAll(limiters, part.byteLength, ctl.signal)
          this.push(part)
        }
      })().then(() => { done() }, done)
    },
    destroy (err, done) {
      ctl.abort(err ?? new Error('stream closed'))
      done(err)
    }
  })
}
