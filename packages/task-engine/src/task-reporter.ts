import { errorInfo } from '@damselfly/types'
import type { TaskStore } from '@damselfly/storage'
import type { SchedulerLink } from '@damselfly/scheduler-client'
import type { PieceDigest } from '@damselfly/proto'

/**
 * how long piece reports are gathered before they go to the scheduler: well under its own flush
 * interval (20-50 ms), so a piece is announced to the swarm about as soon as before
 */
export const REPORT_BATCH_MS = 15

/**
 * The one place a task's progress becomes scheduler messages (meta, pieces, finished), for a
 * download and for seeding alike, so both publish manifests the same way.
 */
export class TaskReporter {
  /** piece reports not sent yet, by the parent that served them ('' = the origin) */
  private readonly pending = new Map<string, { indexes: number[], digests: PieceDigest[], costMs: number }>()
  private timer?: NodeJS.Timeout

  constructor (private readonly scheduler: SchedulerLink | undefined, readonly taskId: string) {}

  /** content and piece length: what children need before they can plan */
  meta (store: TaskStore, url: string): void {
    this.scheduler?.send({ meta: { taskId: this.taskId, contentLength: store.contentLength, pieceLength: store.pieceLength, url } })
  }

  /**
   * a piece stored: with its digest when this peer read it from the origin (the manifest), without
   * when it came from a parent. Reports are gathered for REPORT_BATCH_MS and leave in one message:
   * each is a pass through Noise and yamux on both ends, and pieces come in bursts.
   */
  piece (index: number, digest?: Uint8Array, parentId = '', costMs = 0): void {
    if (this.scheduler == null) return
    let batch = this.pending.get(parentId)
    if (batch == null) { batch = { indexes: [], digests: [], costMs: 0 }; this.pending.set(parentId, batch) }
    batch.indexes.push(index)
    if (digest != null) batch.digests.push({ index, digest: digest as Uint8Array<ArrayBuffer> })
    batch.costMs += costMs
    this.timer ??= setTimeout(() => { this.flush() }, REPORT_BATCH_MS)
  }

  /** sends the gathered piece reports now */
  flush (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.size === 0) return
    const reports = [...this.pending].map(([parentId, b]) => ({ taskId: this.taskId, parentId, ...b }))
    this.pending.clear()
    this.scheduler?.send({ pieces: reports[0], morePieces: reports.slice(1) })
  }

  /** meta and every digest held, in two messages: after a reconnect, or pieces found on disk from an earlier run */
  manifest (store: TaskStore): void {
    this.flush()
    if (!store.initialised) return
    this.meta(store, store.url)
    const digests = []
    for (const i of store.bitfield.indexes()) {
      const d = store.digest(i)
      if (d != null) digests.push({ index: i, digest: d as Uint8Array<ArrayBuffer> })
    }
    if (digests.length > 0) this.scheduler?.send({ pieces: { taskId: this.taskId, indexes: digests.map((d) => d.index), digests, parentId: '', costMs: 0 } })
  }

  finished (err?: unknown): void {
    // the scheduler must hear of every piece before it hears the task is done
    this.flush()
    this.scheduler?.send({ finished: { taskId: this.taskId, success: err == null, error: err == null ? '' : errorInfo(err).message.slice(0, 200) } })
  }
}
