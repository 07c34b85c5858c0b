import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Bitfield, pieceCount, pieceRange } from '@damselfly/utils'
import { TaskStore, readMeta, type TaskMetaFile } from './task-store.js'
import type { PieceCache } from './piece-cache.js'

export { TaskStore, type TaskMetaFile } from './task-store.js'
export { PieceCache } from './piece-cache.js'
export { CacheGc, type CacheGcInit, type CacheUsage, type GcResult } from './gc.js'

/** One task on disk, as the garbage collector sees it. */
export interface TaskEntry {
  taskId: string
  /** bytes of verified pieces held */
  bytes: number
  lastAccess: number
  /** open in this process (a download or upload touched it since start) */
  open: boolean
  /** held by a running download or upload right now */
  pinned: boolean
}

export interface PieceStoreInit {
  /** directory holding one sub-directory per task */
  dataDir: string
  /**
   * how long piece bookkeeping may lag the data before it is saved
   * @default 200
   */
  flushDelayMs?: number
  /**
   * write and read pieces in page-aligned buffers with O_DIRECT where the
   * filesystem allows it (see TaskStore)
   * @default true
   */
  directIo?: boolean
  /** pieces kept in memory for uploads, shared by all tasks (none: uploads read the disk) */
  cache?: PieceCache
}

/** All tasks held on one daemon's disk. */
export class PieceStore {
  private readonly tasks = new Map<string, Promise<TaskStore>>()
  private readonly root: string
  private readonly flushDelayMs: number
  private readonly directIo: boolean
  private readonly cache?: PieceCache
  private readonly pins = new Map<string, number>()

  constructor (init: PieceStoreInit) {
    this.root = join(init.dataDir, 'tasks')
    this.flushDelayMs = init.flushDelayMs ?? 200
    this.directIo = init.directIo ?? true
    this.cache = init.cache
  }

  async start (): Promise<void> { await mkdir(this.root, { recursive: true }) }

  async stop (): Promise<void> {
    const all = await Promise.allSettled(this.tasks.values())
    await Promise.all(all.map(async (r) => { if (r.status === 'fulfilled') await r.value.close().catch(() => {}) }))
    this.tasks.clear()
  }

  /** Opens a task, resuming whatever an earlier run left on disk. */
  async open (taskId: string, url: string): Promise<TaskStore> {
    if (!/^[0-9a-f]{16,128}$/.test(taskId)) throw new Error(`invalid task id ${JSON.stringify(taskId)}`)
    let p = this.tasks.get(taskId)
    if (p == null) {
      p = (async () => {
        const dir = join(this.root, taskId)
        const meta = await readMeta(dir)
        const store = new TaskStore(taskId, dir, meta?.url ?? url, meta?.contentLength ?? -1, meta?.pieceLength ?? 0, this.flushDelayMs, this.directIo, this.cache)
        await store.openFiles(meta)
        return store
      })()
      this.tasks.set(taskId, p)
      p.catch(() => this.tasks.delete(taskId))
    }
    return await p
  }

  /** The task if this daemon holds it (open or on disk), else undefined. */
  async get (taskId: string): Promise<TaskStore | undefined> {
    const p = this.tasks.get(taskId)
    if (p != null) return await p
    if (!/^[0-9a-f]{16,128}$/.test(taskId)) return undefined
    const meta = await readMeta(join(this.root, taskId))
    if (meta == null) return undefined
    return await this.open(taskId, meta.url)
  }

  async list (): Promise<string[]> {
    try {
      return (await readdir(this.root)).filter((d) => /^[0-9a-f]{16,128}$/.test(d))
    } catch { return [] }
  }

  /**
   * Marks a task as in use until the returned function is called; the garbage
   * collector never evicts a pinned task. Pins nest.
   */
  pin (taskId: string): () => void {
    this.pins.set(taskId, (this.pins.get(taskId) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const n = (this.pins.get(taskId) ?? 1) - 1
      if (n <= 0) this.pins.delete(taskId)
      else this.pins.set(taskId, n)
    }
  }

  isPinned (taskId: string): boolean { return (this.pins.get(taskId) ?? 0) > 0 }

  /** Every task on disk with its size and last use, without opening closed ones. */
  async inventory (): Promise<TaskEntry[]> {
    const out: TaskEntry[] = []
    for (const taskId of await this.list()) {
      const p = this.tasks.get(taskId)
      if (p != null) {
        const s = await p.catch(() => undefined)
        if (s != null) { out.push({ taskId, bytes: s.bytesStored, lastAccess: s.lastAccess, open: true, pinned: this.isPinned(taskId) }); continue }
      }
      const meta = await readMeta(join(this.root, taskId))
      // a directory without meta is a task that never got its first piece saved
      const bytes = meta == null ? 0 : metaBytes(meta)
      out.push({ taskId, bytes, lastAccess: meta?.lastAccess ?? 0, open: false, pinned: this.isPinned(taskId) })
    }
    return out
  }

  async remove (taskId: string): Promise<void> {
    const store = await this.get(taskId)
    this.tasks.delete(taskId)
    await store?.destroy()
  }
}

function metaBytes (meta: TaskMetaFile): number {
  if (meta.contentLength < 0 || meta.pieceLength <= 0) return 0
  const count = pieceCount(meta.contentLength, meta.pieceLength)
  const have = Bitfield.fromBase64(count, meta.have)
  let n = have.cardinality * meta.pieceLength
  const last = count - 1
  if (last >= 0 && have.get(last)) n -= meta.pieceLength - pieceRange(last, meta.contentLength, meta.pieceLength).length
  return n
}
