import { taskIdFor } from '@damselfly/utils'
import type { Announce } from '@damselfly/proto'
import type { TaskKeyParts, TaskRecord } from './swarm-types.js'

export function keyParts (r: { tag: string, application: string, filteredQueryParams: string[], range: string }): TaskKeyParts {
  return { tag: r.tag, application: r.application, filteredQueryParams: r.filteredQueryParams.slice(0, 64), range: r.range }
}

/** TaskKeyParts as taskIdFor reads them ('' means absent) */
export function requestParts (p: TaskKeyParts): { tag?: string, application?: string, filteredQueryParams?: string[], range?: string } {
  return { tag: p.tag !== '' ? p.tag : undefined, application: p.application !== '' ? p.application : undefined, filteredQueryParams: p.filteredQueryParams.length > 0 ? p.filteredQueryParams : undefined, range: p.range !== '' ? p.range : undefined }
}

/** The task's stored request computes its id (a task first known from holdings has none yet). */
export function verifies (task: TaskRecord): boolean {
  try {
    return taskIdFor({ url: task.url, digest: task.digest, pieceLength: task.pieceLength > 0 && task.contentLength < 0 ? task.pieceLength : undefined, ...requestParts(task) }) === task.id
  } catch { return false }
}

export function sameRequest (task: TaskRecord, a: Announce, p: TaskKeyParts): boolean {
  return task.url === a.url && task.digest === a.digest && task.tag === p.tag && task.application === p.application &&
    task.range === p.range && task.filteredQueryParams.join('\n') === p.filteredQueryParams.join('\n')
}
