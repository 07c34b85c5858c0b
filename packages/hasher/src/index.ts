import { fileURLToPath } from 'node:url'
import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import { blake3, initBlake3, allocAligned, isAlignedAllocation } from '@damselfly/utils'
import type { Hasher } from '@damselfly/types'

export interface HasherInit {
  /**
   * worker threads
   * @default availableParallelism()
   */
  threads?: number
  /**
   * pieces smaller than this are hashed on the calling thread, where a worker
   * round trip would cost more than the hash
   * @default 65536
   */
  inlineBelow?: number
}

/**
 * BLAKE3 on a piscina pool. A piece in shared memory (allocPieceBuffer) is
 * shared with the worker; a buffer that owns its whole ArrayBuffer is moved
 * there and back; any other view is copied.
 */
class PooledHasher implements Hasher {
  private pool?: Piscina
  private readonly threads: number
  private readonly inlineBelow: number

  constructor (init: HasherInit) {
    this.threads = init.threads ?? Math.max(1, availableParallelism())
    this.inlineBelow = init.inlineBelow ?? 65536
  }

  async start (): Promise<void> {
    await initBlake3()
    if (this.threads === 0) return
    this.pool = new Piscina({
      filename: fileURLToPath(new URL('./worker.js', import.meta.url)),
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: 60_000
    })
  }

  async stop (): Promise<void> {
    await this.pool?.destroy()
    this.pool = undefined
  }

  async hash (buf: Uint8Array): Promise<{ digest: Uint8Array, buf: Uint8Array }> {
    const pool = this.pool
    if (pool == null || buf.byteLength < this.inlineBelow) {
      return { digest: blake3(buf), buf }
    }
    if (buf.buffer instanceof SharedArrayBuffer) {
      const { digest } = await pool.run({ buf }) as { digest: Uint8Array }
      return { digest, buf }
    }
    const input = ownsArrayBuffer(buf) ? buf : new Uint8Array(buf)
    const result = await pool.run({ buf: input }, { transferList: [input.buffer as ArrayBuffer] }) as { digest: Uint8Array, buf: Uint8Array }
    // hand back a Buffer view over the same memory the caller gave us
    return { digest: result.digest, buf: Buffer.from(result.buf.buffer, result.buf.byteOffset, result.buf.byteLength) }
  }
}

/** a view over the whole of an ordinary ArrayBuffer, which can be moved to a worker and pooled */
function ownsArrayBuffer (buf: Uint8Array): boolean {
  return buf.buffer instanceof ArrayBuffer && buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength
}

export function createHasher (init: HasherInit = {}): Hasher {
  return new PooledHasher(init)
}

/**
 * Piece buffers handed back once their piece is on disk. Fresh multi-MiB
 * allocations cost page faults and GC pressure on every piece; a small pool
 * of same-sized buffers turns the receive path into a steady state.
 */
const pool = new Map<number, Buffer[]>()
let pooledBytes = 0
/**
 * what the pool may hold, across sizes: as much as a parent's uploads (the upload budget, 64 MiB)
 * and a download's in-flight window (64 MiB) hold at once, so a busy parent reuses its buffers
 * instead of mapping fresh pages for every piece it reads ahead.
 * 32 MiB cost the swarm ~5 CPU s more (seed peer zeroing fresh pages) for the same peak RSS.
 */
export const PIECE_POOL_MAX_BYTES = 128 * 1024 * 1024

/**
 * Whether shared WebAssembly memories can be had. V8 reserves a large address range for each,
 * which a process under an address-space limit (`ulimit -v`) is refused: pieces then use plain
 * buffers, moved to the worker and written through the page cache.
 */
let alignedAvailable = true

/**
 * Allocates a piece buffer in page-aligned shared memory: the store writes it
 * with O_DIRECT and the hashing worker reads it where it is.
 */
export function allocPieceBuffer (length: number): Buffer {
  const free = pool.get(length)
  const buf = free?.pop()
  if (buf != null) { pooledBytes -= length; return buf }
  if (alignedAvailable) {
    try {
      return allocAligned(length)
    } catch (err) {
      if (!(err instanceof RangeError)) throw err
      alignedAvailable = false
    }
  }
  return Buffer.allocUnsafeSlow(length)
}

/**
 * Returns a piece buffer nobody references any more (its piece is written).
 * Buffers allocPieceBuffer did not make (views into other memory, detached
 * ones) are left to GC.
 */
export function releasePieceBuffer (buf: Uint8Array): void {
  const length = buf.byteLength
  if (length === 0 || !(isAlignedAllocation(buf) || ownsArrayBuffer(buf))) return
  if (pooledBytes + length > PIECE_POOL_MAX_BYTES) return
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, 0, length)
  let free = pool.get(length)
  if (free == null) { free = []; pool.set(length, free) }
  free.push(b)
  pooledBytes += length
}
