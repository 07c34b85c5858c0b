/**
 * Bytes counted at the receiving (or sending) end of a limited transfer, as
 * (time, running total) samples taken whenever the total changed.
 */
export class ByteClock {
  readonly samples: Array<{ t: number, total: number }> = []
  private total = 0

  /** `n` more bytes arrived now */
  add (n: number): void {
    this.total += n
    this.samples.push({ t: performance.now(), total: this.total })
  }

  /** the running total read from elsewhere (a counter); recorded only when it moved */
  set (total: number): void {
    if (total === this.total && this.samples.length > 0) return
    this.total = total
    this.samples.push({ t: performance.now(), total })
  }

  get bytes (): number { return this.total }

  /** when the running total first reached `bytes` */
  timeAt (bytes: number): number {
    return this.samples.find((s) => s.total >= bytes)?.t ?? Infinity
  }
  get lastAt (): number { return this.samples.at(-1)?.t ?? 0 }

  /**
   * Bytes per second between the first change at or after `from` and the last change at or
   * before `to` (performance.now() times). Measured from change to change, so the granularity of
   * what is counted (a chunk, a piece) does not skew it; `seconds` is the span it covers.
   */
  rate (from: number, to = Infinity): { rate: number, seconds: number, bytes: number } {
    const inside = this.samples.filter((s) => s.t >= from && s.t <= to)
    if (inside.length < 2) return { rate: 0, seconds: 0, bytes: 0 }
    const a = inside[0]
    const b = inside[inside.length - 1]
    const seconds = (b.t - a.t) / 1000
    return { rate: (b.total - a.total) / seconds, seconds, bytes: b.total - a.total }
  }
}

/** Calls `read` every `everyMs` until stopped, feeding the clock with its running total. */
export function poll (clock: ByteClock, read: () => Promise<number> | number, everyMs = 100): { stop: () => Promise<void> } {
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      try { clock.set(await read()) } catch {}
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  return { stop: async () => { stopped = true; await loop } }
}

/** Asserts `rate` is within `tolerance` (a fraction) of `limit`, naming what was measured. */
export function within (what: string, m: { rate: number, seconds: number }, limit: number, tolerance = 0.05): string {
  const off = m.rate / limit - 1
  const text = `${what}: ${(m.rate / 1048576).toFixed(3)} MiB/s over ${m.seconds.toFixed(1)} s against ${(limit / 1048576).toFixed(3)} MiB/s (${(off * 100).toFixed(1)}%)`
  if (Math.abs(off) > tolerance) throw new Error(text)
  return text
}
