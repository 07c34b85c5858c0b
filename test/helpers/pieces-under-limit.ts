// Child process for store-direct-io.spec: runs the piece path (allocate, hash on a worker, store,
// read back) in a process started under an address-space limit (ulimit -v), where V8 cannot
// reserve shared WebAssembly memories, and prints what it saw as one JSON line.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomFillSync } from 'node:crypto'
import { PieceStore } from '@damselfly/storage'
import { createHasher, allocPieceBuffer, releasePieceBuffer } from '@damselfly/hasher'
import { blake3, initBlake3 } from '@damselfly/utils'

const PIECE = 1024 * 1024
await initBlake3()
const dir = await mkdtemp(join(tmpdir(), 'dfly-limit-'))
const hasher = createHasher({ threads: 1 })
await hasher.start()
const store = new PieceStore({ dataDir: dir })
await store.start()
try {
  const ts = await store.open('e7'.repeat(32), 'http://o/x')
  await ts.initialise(PIECE * 3, PIECE)
  const want: Buffer[] = []
  let shared = false
  for (let i = 0; i < 3; i++) {
    const buf = randomFillSync(allocPieceBuffer(PIECE))
    shared ||= buf.buffer instanceof SharedArrayBuffer
    want.push(Buffer.from(buf))
    const h = await hasher.hash(buf)
    if (Buffer.compare(Buffer.from(h.digest), Buffer.from(blake3(want[i]))) !== 0) throw new Error(`digest of piece ${i} differs`)
    await ts.writePiece(i, h.buf, h.digest)
    releasePieceBuffer(h.buf)
  }
  let intact = true
  for (let i = 0; i < 3; i++) intact &&= Buffer.from(await ts.readPiece(i, allocPieceBuffer)).equals(want[i])
  process.stdout.write(JSON.stringify({ shared, intact }) + '\n')
} finally {
  await store.stop()
  await hasher.stop()
  await rm(dir, { recursive: true, force: true })
}
