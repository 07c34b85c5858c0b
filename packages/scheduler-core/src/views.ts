import { redactUrl } from '@damselfly/utils'
import type { PeerRecord, TaskRecord } from './swarm-types.js'

/** The HTTP API's view of every registered peer. */
export function peerList (peers: ReadonlyMap<string, PeerRecord>): unknown[] {
  return [...peers.values()].map((p) => ({
    id: p.id, addrs: p.addrs, pool: p.pool, idc: p.idc, hostname: p.hostname, seed: p.seed,
    uploadSlots: p.uploadSlots, tasks: p.tasks.size, uploadedBytes: p.uploaded, piecesServed: p.piecesServed, failures: p.failures
  }))
}

/** The HTTP API's view of a task (its URL redacted). */
export function taskView (task: TaskRecord, peers: ReadonlyMap<string, PeerRecord>): unknown {
  return {
    id: task.id,
    url: redactUrl(task.url),
    contentLength: task.contentLength,
    pieceLength: task.pieceLength,
    pieceCount: task.pieceCount,
    manifestPieces: task.manifestLog.length,
    seedPeer: task.seedPeer,
    seedState: task.seedState,
    backToSourceCount: task.backToSourceCount,
    originFailures: task.originFailures,
    blocked: [...task.blocked],
    bytesByEdge: Object.fromEntries(task.bytesByEdge),
    peers: [...task.members.values()].map((m) => ({
      id: m.peerId,
      pool: peers.get(m.peerId)?.pool,
      seed: peers.get(m.peerId)?.seed ?? false,
      pieces: m.have.cardinality,
      done: m.done,
      backToSource: m.backToSource,
      parents: m.parents
    }))
  }
}

/** Bytes that reached `pool` from outside it (other pools or the origin), from a task's `bytesByEdge`. */
export function crossPoolBytes (bytesByEdge: Iterable<[string, number]>, pool: string): number {
  let n = 0
  for (const [edge, bytes] of bytesByEdge) {
    const [from, to] = edge.split('>')
    if (to === pool && from !== pool) n += bytes
  }
  return n
}
