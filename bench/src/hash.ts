// `npm run bench -- hash [--json] [--quick]`: BLAKE3 throughput of the
// hashing worker pool against hashing on the main thread, and what each does
// to the event loop (p99 delay while hashing flat out). Pieces are moved to
// the workers and back, as the download path does.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { randomFillSync } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { createHasher, allocPieceBuffer } from '@damselfly/hasher'
import { initBlake3, blake3, blake3Implementation } from '@damselfly/utils'

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    size: { type: 'string' },
    piece: { type: 'string', default: String(4 * 1024 * 1024) },
    threads: { type: 'string' }
  }
})
const pieceLength = Number(values.piece)
const total = Number(values.size ?? (values.quick ? 256 : 2048) * 1024 * 1024)
const threads = Number(values.threads ?? availableParallelism())
await initBlake3()

// a working set of distinct pieces, reused round robin, so we measure hashing, not page faults
const pieces = Array.from({ length: Math.min(16, Math.ceil(total / pieceLength)) }, () => randomFillSync(allocPieceBuffer(pieceLength)))
const count = Math.ceil(total / pieceLength)

async function withLoopDelay (f: () => Promise<void>): Promise<{ GBps: number, loopP99Ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 5 })
  h.enable()
  const t0 = performance.now()
  await f()
  const s = (performance.now() - t0) / 1000
  h.disable()
  return { GBps: Math.round(count * pieceLength / 1e9 / s * 100) / 100, loopP99Ms: Math.round(h.percentile(99) / 1e4) / 100 }
}

const mainThread = await withLoopDelay(async () => {
  for (let i = 0; i < count; i++) {
    blake3(pieces[i % pieces.length])
    // what a hot path hashing inline does: the loop only breathes between pieces
    if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve))
  }
})

const hasher = createHasher({ threads })
await hasher.start()
// warm up: workers load the native module lazily
await Promise.all(pieces.slice(0, threads).map(async (_, i) => { pieces[i] = (await hasher.hash(pieces[i])).buf as Buffer }))
const pool = await withLoopDelay(async () => {
  let next = 0
  // each lane owns one piece buffer, moved to a worker and back every round
  const lane = async (slot: number): Promise<void> => {
    while (next < count) {
      next++
      const { buf } = await hasher.hash(pieces[slot])
      pieces[slot] = buf as Buffer
    }
  }
  await Promise.all(Array.from({ length: Math.min(pieces.length, threads * 2) }, async (_, i) => { await lane(i) }))
})
await hasher.stop()

const result = {
  scenario: 'hash',
  implementation: blake3Implementation(),
  pieceLength,
  bytes: count * pieceLength,
  threads,
  mainThreadGBps: mainThread.GBps,
  mainThreadLoopP99Ms: mainThread.loopP99Ms,
  poolGBps: pool.GBps,
  poolLoopP99Ms: pool.loopP99Ms,
  speedup: Math.round(pool.GBps / mainThread.GBps * 100) / 100
}
if (values.json) process.stdout.write(JSON.stringify(result) + '\n')
else console.log(result)
process.exit(0)
