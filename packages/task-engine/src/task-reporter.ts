import { errorInfo } from '@damselfly/types'
import type { TaskStore } from '@damselfly/storage'
import type { SchedulerLink } from '@damselfly/scheduler-client'

/**
 * The one place a task's progress becomes scheduler messages (meta, pieces, finished), for a
 * download and for seeding alike, so both publish manifests the same way.
 */
export class TaskReporter {
  constructor (private readonly scheduler: SchedulerLink | undefined, readonly taskId: string) {}

  /** content and piece length: what children need before they can plan */
  meta (store: TaskStore, url: string): void {
    this.scheduler?.send({ meta: { taskId: this.taskId, contentLength: store.contentLength, pieceLength: store.pieceLength, url } })
  }

  /** a piece stored: with its digest when this peer read it from the origin (the manifest), without when it came from a parent */
  piece (index: number, digest?: Uint8Array, parentId = '', costMs = 0): void {
    this.scheduler?.send({
      pieces: {
        taskId: this.taskId,
        indexes: [index],
        digests: digest != null ? [{ index, digest: digest as Uint8Array<ArrayBuffer> }] : [],
        parentId,
        costMs
      }
    })
  }

  /** meta and every digest held, in two messages: after a reconnect, or pieces found on disk from an earlier run */
  manifest (store: TaskStore): void {
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
    this.scheduler?.send({ finished: { taskId: this.taskId, success: err == null, error: err == null ? '' : errorInfo(err).message.slice(0, 200) } })
  }
}
