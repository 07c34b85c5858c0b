// Piscina worker: hash one piece with BLAKE3 and hand the buffer back.
// Kept tiny and pure; the buffer arrives moved (transferList) and leaves moved.
import { Piscina } from 'piscina'
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
  // a Transferable wrapper: piscina sends `value` and moves the piece's memory back
  return Piscina.move({
    get [Piscina.transferableSymbol] () { return [buf.buffer] },
    get [Piscina.valueSymbol] () { return { digest, buf } }
  } as any)
}
