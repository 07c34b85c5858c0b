import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { mkdtemp, rm, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { PieceStore } from '@damselfly/storage'
import { initBlake3, blake3, silentLogger } from '@damselfly/utils'
import { createHasher } from '@damselfly/hasher'
import { Download } from '@damselfly/task-engine'
import { FailureKind } from '@damselfly/proto'

const TASK = 'cd'.repeat(32)
const PL = 64 * 1024

/** Stands in for the scheduler session: records what the download sends, lets the test push plans. */
class FakeScheduler extends EventEmitter {
  connected = true
  sent: any[] = []
  send (msg: any): boolean { this.sent.push(msg); return true }
  async waitConnected (): Promise<void> {}
}

describe('piece verification', () => {
  let dir: string
  beforeEach(async () => { await initBlake3(); dir = await mkdtemp(join(tmpdir(), 'dfly-dm-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('should reject a corrupt piece, block its parent and fetch the piece again elsewhere', async () => {
    const content = randomBytes(PL * 6 + 100)
    const piece = (i: number): Buffer => content.subarray(i * PL, Math.min(content.byteLength, (i + 1) * PL))
    const served: Record<string, number[]> = { bad: [], good: [] }
    const pieces = {
      fetch: async (parent: { peerId: string }, _t: string, index: number): Promise<Uint8Array> => {
        served[parent.peerId].push(index)
        const buf = Buffer.from(piece(index))
        if (parent.peerId === 'bad') buf[0] ^= 0xff
        // answered on a later turn of the event loop, as a network would: the download pipelines
        // requests to both parents meanwhile (no time needed, only that the answer is not synchronous)
        await new Promise((resolve) => setImmediate(resolve))
        return buf
      },
      drop: () => {}
    }
    const store = new PieceStore({ dataDir: dir })
    await store.start()
    const ts = await store.open(TASK, 'http://o/x')
    const hasher = createHasher({ threads: 1 })
    await hasher.start()
    const sched = new FakeScheduler()
    const d = new Download(TASK, { url: 'http://o/x' }, {
      store: ts, hasher, backend: () => { throw new Error('must not go to the origin') }, pieces: pieces as any, scheduler: sched as any, log: silentLogger()
    }, { stallMs: 60_000 })
    const done = d.run()
    const n = Math.ceil(content.byteLength / PL)
    const all = Uint8Array.from([(0xff << (8 - n)) & 0xff])
    sched.emit('update', {
      taskId: TASK,
      contentLength: content.byteLength,
      pieceLength: PL,
      digests: Array.from({ length: n }, (_, i) => ({ index: i, digest: blake3(piece(i)) })),
      parents: [
        { peerId: 'bad', addrs: [], have: all, seed: false, pool: 'p' },
        { peerId: 'good', addrs: [], have: all, seed: true, pool: 'p' }
      ],
      backToSource: false,
      error: ''
    })
    await done
    await hasher.stop()
    assert.equal(d.stats.state, 'succeeded')
    assert.ok(d.stats.digestMismatches >= 1, 'the corrupt piece was detected')
    // blocked at its first bad piece: only the requests already pipelined to it (4 per parent) went out
    assert.ok(served.bad.length <= 4, `bad parent was asked for ${served.bad.length} pieces`)
    // every piece ended up coming from the good parent
    assert.deepEqual([...new Set(served.good)].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i))
    const failure = sched.sent.find((m) => m.failure != null)?.failure
    assert.equal(failure.parentId, 'bad')
    assert.equal(failure.kind, FailureKind.DIGEST_MISMATCH)
    await store.stop()
    assert.deepEqual(await readFile(ts.dataPath), content)
  })
})
