// Piscina worker: hash one piece with BLAKE3 and hand the buffer back.
// Kept tiny and pure; the buffer arrives moved (transferList) and leaves moved.
import { Piscina } from 'piscina'
import { blake3, initBlake3 } from '@damselfly/utils'

export interface HashTask { buf: Uint8Array }

await initBlake3()

export default function hashPiece ({ buf }: HashTask): unknown {
  const digest = blake3(buf)
  const out = new Uint8Array(digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength))
  return Piscina.move({ digest: out, buf } as any)
}
