/** how far back the cross-pool rate is measured */
const WINDOW_MS = 5000

/**
 * A per-pool WAN budget: bytes per second that may enter and leave each node pool across pools
 * (origin traffic is not counted: it is the seed's, and back-to-source is decided elsewhere).
 * The scheduler cannot pace bytes itself; it counts the cross-pool pieces peers report over the
 * last few seconds and stops offering parents from another pool while either end's pool is at
 * its budget, so the plans it sends keep the WAN within it on average.
 */
export class PoolBudget {
  /** reported cross-pool transfers in the window: [time, from pool, to pool, bytes] */
  private readonly events: Array<[number, string, string, number]> = []

  /**
   * @param rate bytes per second into and out of each pool across pools; 0 = unlimited
   * @param exempt pools the budget does not apply to: those holding a seed (the cloud), whose
   * egress is what seeds are for; budgeting it too split one edge link's budget over every pool
   */
  constructor (public rate: number, private readonly now: () => number = Date.now, readonly exempt: (pool: string) => boolean = () => false) {}

  get limited (): boolean { return this.rate > 0 }

  /** `bytes` went from a peer in pool `from` to one in `to` */
  add (from: string, to: string, bytes: number): void {
    if (from === to || from === 'origin' || bytes <= 0) return
    this.events.push([this.now(), from, to, bytes])
    this.expire()
  }

  /** Bytes per second into (`in`) and out of (`out`) each pool across pools, over the window. */
  rates (): Map<string, { in: number, out: number }> {
    this.expire()
    const out = new Map<string, { in: number, out: number }>()
    const entry = (pool: string): { in: number, out: number } => {
      let e = out.get(pool)
      if (e == null) { e = { in: 0, out: 0 }; out.set(pool, e) }
      return e
    }
    for (const [, from, to, bytes] of this.events) {
      entry(from).out += bytes / (WINDOW_MS / 1000)
      entry(to).in += bytes / (WINDOW_MS / 1000)
    }
    return out
  }

  /** Whether a parent in pool `from` may serve a child in pool `to` now. */
  allows (from: string, to: string): boolean {
    if (!this.limited || from === to) return true
    const r = this.rates()
    return (this.exempt(to) || (r.get(to)?.in ?? 0) < this.rate) && (this.exempt(from) || (r.get(from)?.out ?? 0) < this.rate)
  }

  /** ms until the oldest counted transfer leaves the window (when a refused plan may change) */
  get retryMs (): number {
    const first = this.events[0]
    return first == null ? 0 : Math.max(50, first[0] + WINDOW_MS - this.now())
  }

  private expire (): void {
    const cutoff = this.now() - WINDOW_MS
    while (this.events.length > 0 && this.events[0][0] < cutoff) this.events.shift()
  }
}
