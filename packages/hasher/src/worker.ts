// Piscina worker: hash one piece with BLAKE3 and hand the buffer back.
// Kept tiny and pure; the buffer arrives moved (transferList) and leaves moved.
// the subpath, not the index: a worker that imports the index evaluates the logger and the rest with it
import { blake3, initBlake3 } from '@damselfly/utils/blake3'

export interface HashTask { buf: Uint8Array }

await initBlake3()

export default function hashPiece ({ buf }: HashTask): unknown {
  const d = blake3(buf)
  const digest = new Uint8Array(32)
  digest.set(d)
  // shared memory stays where it is: only the digest goes back
  if (buf.buffer instanceof SharedArrayBuffer) return { digest }
  return moveBack(digest, buf)
}

let piscina: Promise<typeof import('piscina').Piscina> | undefined

/**
 * A Transferable wrapper: piscina sends `value` and moves the piece's memory back. Piscina's
 * module (its pool, queues, histograms: ~12 ms of every daemon's start-up) loads in the worker
 * only when a piece was not in shared memory, which allocPieceBuffer's pieces are.
 */
async function moveBack (digest: Uint8Array, buf: Uint8Array): Promise<unknown> {
  piscina ??= import('piscina').then((m) => m.Piscina)
  const Piscina = await piscina
  return Piscina.move({
    get [Piscina.transferableSymbol] () { return [buf.buffer] },
    get [Piscina.valueSymbol] () { return { digest, buf } }
  } as any)
}
