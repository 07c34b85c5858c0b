import { fileURLToPath } from 'node:url'
import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import { blake3, initBlake3 } from '@damselfly/utils'
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
 * BLAKE3 on a piscina pool. A piece buffer that owns its whole ArrayBuffer is
 * moved to the worker and moved back (no copy); any other view is copied.
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
    const ownsBuffer = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer
    const input = ownsBuffer ? buf : new Uint8Array(buf)
    const result = await pool.run({ buf: input }, { transferList: [input.buffer as ArrayBuffer] }) as { digest: Uint8Array, buf: Uint8Array }
    // hand back a Buffer view over the same memory the caller gave us
    return { digest: result.digest, buf: Buffer.from(result.buf.buffer, result.buf.byteOffset, result.buf.byteLength) }
  }
}

export function createHasher (init: HasherInit = {}): Hasher {
  return new PooledHasher(init)
}

/** Allocates a piece buffer that owns its ArrayBuffer, so it can be moved to a worker. */
export function allocPieceBuffer (length: number): Buffer {
  return Buffer.allocUnsafeSlow(length)
}
