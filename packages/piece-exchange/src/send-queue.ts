import type { Connection, Stream } from '@libp2p/interface'

/**
 * Whether bytes of `buffer` handed to `stream.send()` may still be waiting in
 * a libp2p queue: the stream's write buffer (yamux send window exhausted) or
 * the connection's, below the muxer, where plaintext waits while the socket
 * is full (Noise copies bytes only when it encrypts them). `false` means no
 * layer references the buffer any more, so its memory can be reused;
 * `undefined` means the queues cannot be inspected (the libp2p internals
 * changed), and the caller must not reuse it.
 */
export function maybeQueued (stream: Stream, connection: Connection, buffer: ArrayBufferLike): boolean | undefined {
  const below = (connection as unknown as { muxer?: { maConn?: unknown } }).muxer?.maConn
  const queues = [stream, below].map((s) => (s as { writeBuffer?: { bufs?: unknown } } | undefined)?.writeBuffer?.bufs)
  if (!queues.every(Array.isArray)) return undefined
  return (queues as Uint8Array[][]).some((bufs) => bufs.some((b) => b.buffer === buffer))
}
