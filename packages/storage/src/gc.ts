import type { PieceStore, TaskEntry } from './index.js'

export interface CacheGcInit {
  store: PieceStore
  /** bytes of pieces this daemon may keep; 0 = no quota (TTL still applies) @default 0 */
  quotaBytes?: number
  /** eviction starts when usage exceeds this fraction of the quota @default 0.9 */
  highWatermark?: number
  /** and removes least recently used tasks until usage is below this fraction @default 0.7 */
  lowWatermark?: number
  /** tasks unused for longer are removed regardless of quota; 0 = never @default 0 */
  ttlMs?: number
  /**
   * a task touched (piece read or written) this recently counts as in use: a
   * parent in the middle of serving it must not lose it under a child
   * @default 30000
   */
  activeWindowMs?: number
  /** @default 60000 */
  intervalMs?: number
  /** extra in-use test, e.g. the engine's running downloads */
  inUse?: (taskId: string) => boolean
  /** called after a task is removed, so owners drop their handles to it */
  onEvict?: (taskId: string, reason: 'ttl' | 'quota') => void
  log?: { info: (obj: object, msg: string) => void, warn: (obj: object, msg: string) => void }
  now?: () => number
}

export interface CacheUsage { bytes: number, tasks: number }

export interface GcResult {
  before: CacheUsage
  after: CacheUsage
  evicted: Array<{ taskId: string, bytes: number, reason: 'ttl' | 'quota' }>
  /** tasks that would have gone but were in use */
  keptInUse: string[]
}

/**
 * Keeps one daemon's piece cache within its quota: TTL expiry first, then
 * least-recently-used eviction from the high watermark down to the low one.
 * Only this daemon's task directories count, not the rest of the disk.
 */
export class CacheGc {
  private timer?: NodeJS.Timeout
  private running?: Promise<GcResult>
  usage: CacheUsage = { bytes: 0, tasks: 0 }
  evictions = 0
  bytesEvicted = 0
  /** collection passes finished since start (what a caller waits on to know a pass has seen a change) */
  runs = 0
  private readonly now: () => number

  constructor (private readonly init: CacheGcInit) {
    this.now = init.now ?? Date.now
    const high = init.highWatermark ?? 0.9
    const low = init.lowWatermark ?? 0.7
    if (!(low > 0 && low <= high && high <= 1)) throw new RangeError(`watermarks must satisfy 0 < low (${low}) <= high (${high}) <= 1`)
  }

  get quotaBytes (): number { return this.init.quotaBytes ?? 0 }

  start (): void {
    if (this.timer != null) return
    this.timer = setInterval(() => { this.run().catch((err) => this.init.log?.warn({ err: err.message }, 'cache gc failed')) }, this.init.intervalMs ?? 60_000)
    this.timer.unref()
    this.refresh().catch(() => {})
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private refreshing?: Promise<CacheUsage>

  /** Recomputes usage without evicting (for metrics between runs); concurrent callers share one scan. */
  async refresh (): Promise<CacheUsage> {
    this.refreshing ??= this.init.store.inventory().then((all) => {
      this.usage = { bytes: sum(all), tasks: all.length }
      return this.usage
    }).finally(() => { this.refreshing = undefined })
    return await this.refreshing
  }

  /** One collection pass; concurrent callers share it. */
  async run (): Promise<GcResult> {
    this.running ??= this.collect().finally(() => { this.running = undefined; this.runs++ })
    return await this.running
  }

  private inUse (e: TaskEntry, now: number): boolean {
    return this.init.store.isPinned(e.taskId) ||
      this.init.inUse?.(e.taskId) === true ||
      now - e.lastAccess < (this.init.activeWindowMs ?? 30_000)
  }

  private async collect (): Promise<GcResult> {
    const now = this.now()
    let entries = await this.init.store.inventory()
    const before = { bytes: sum(entries), tasks: entries.length }
    const evicted: GcResult['evicted'] = []
    const kept = new Set<string>()
    const evict = async (e: TaskEntry, reason: 'ttl' | 'quota'): Promise<boolean> => {
      // checked again right before removal: a download may have started meanwhile
      if (this.inUse(e, this.now())) { kept.add(e.taskId); return false }
      await this.init.store.remove(e.taskId)
      evicted.push({ taskId: e.taskId, bytes: e.bytes, reason })
      this.evictions++
      this.bytesEvicted += e.bytes
      this.init.onEvict?.(e.taskId, reason)
      this.init.log?.info({ task: e.taskId, bytes: e.bytes, reason }, 'evicted task from cache')
      return true
    }

    const ttl = this.init.ttlMs ?? 0
    if (ttl > 0) {
      for (const e of entries) if (now - e.lastAccess > ttl) await evict(e, 'ttl')
      entries = entries.filter((e) => !evicted.some((x) => x.taskId === e.taskId))
    }

    const quota = this.quotaBytes
    let usage = sum(entries)
    if (quota > 0 && usage > quota * (this.init.highWatermark ?? 0.9)) {
      const target = quota * (this.init.lowWatermark ?? 0.7)
      const lru = [...entries].sort((a, b) => a.lastAccess - b.lastAccess)
      for (const e of lru) {
        if (usage <= target) break
        if (await evict(e, 'quota')) usage -= e.bytes
      }
      if (usage > target) this.init.log?.warn({ usage, target, inUse: [...kept] }, 'cache above its low watermark: the rest is in use')
    }
    const remaining = entries.filter((e) => !evicted.some((x) => x.taskId === e.taskId))
    this.usage = { bytes: sum(remaining), tasks: remaining.length }
    return { before, after: this.usage, evicted, keptInUse: [...kept] }
  }
}

function sum (entries: TaskEntry[]): number {
  return entries.reduce((a, e) => a + e.bytes, 0)
}
