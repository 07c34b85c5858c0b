import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { TaskStore, readMeta } from './task-store.js'

export { TaskStore, type TaskMetaFile } from './task-store.js'

export interface PieceStoreInit {
  /** directory holding one sub-directory per task */
  dataDir: string
  /**
   * how long piece bookkeeping may lag the data before it is saved
   * @default 200
   */
  flushDelayMs?: number
}

/** All tasks held on one daemon's disk. */
export class PieceStore {
  private readonly tasks = new Map<string, Promise<TaskStore>>()
  private readonly root: string
  private readonly flushDelayMs: number

  constructor (init: PieceStoreInit) {
    this.root = join(init.dataDir, 'tasks')
    this.flushDelayMs = init.flushDelayMs ?? 200
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
        const store = new TaskStore(taskId, dir, meta?.url ?? url, meta?.contentLength ?? -1, meta?.pieceLength ?? 0, this.flushDelayMs)
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

  async remove (taskId: string): Promise<void> {
    const store = await this.get(taskId)
    this.tasks.delete(taskId)
    await store?.destroy()
  }
}
