import assert from 'node:assert/strict'
import { mkdtemp, rm, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { PieceStore, CacheGc } from '@damselfly/storage'
import { initBlake3, blake3 } from '@damselfly/utils'

const id = (n: number): string => n.toString(16).padStart(2, '0').repeat(32)
const KIB = 1024

/** Writes a complete task of `size` bytes (4 KiB pieces) and backdates its last use. */
async function addTask (store: PieceStore, n: number, size: number, lastAccess: number): Promise<void> {
  const ts = await store.open(id(n), `http://o/${n}`)
  const content = randomBytes(size)
  await ts.initialise(size, 4 * KIB)
  for (let i = 0; i * 4 * KIB < size; i++) {
    const piece = content.subarray(i * 4 * KIB, Math.min(size, (i + 1) * 4 * KIB))
    await ts.writePiece(i, piece, blake3(piece))
  }
  ts.lastAccess = lastAccess
  await ts.close()
}

describe('cache garbage collection', () => {
  let dir: string
  let store: PieceStore
  const now = 1_000_000_000
  beforeEach(async () => {
    await initBlake3()
    dir = await mkdtemp(join(tmpdir(), 'dfly-gc-'))
    // a fresh store per test: tasks are read back from disk, as after a daemon restart
    const writer = new PieceStore({ dataDir: dir })
    await writer.start()
    for (let i = 1; i <= 5; i++) await addTask(writer, i, 20 * KIB, now - (10 - i) * 60_000)
    await writer.stop()
    store = new PieceStore({ dataDir: dir })
    await store.start()
  })
  afterEach(async () => { await store.stop(); await rm(dir, { recursive: true, force: true }) })

  it('should count only the bytes of verified pieces this daemon holds', async () => {
    const gc = new CacheGc({ store, now: () => now })
    assert.deepEqual(await gc.refresh(), { bytes: 100 * KIB, tasks: 5 })
  })

  it('should do nothing while usage is below the high watermark', async () => {
    const gc = new CacheGc({ store, quotaBytes: 120 * KIB, highWatermark: 0.9, lowWatermark: 0.5, now: () => now })
    const r = await gc.run()
    assert.equal(r.evicted.length, 0)
    assert.equal((await store.list()).length, 5)
  })

  it('should evict least recently used tasks down to the low watermark', async () => {
    const evicted: string[] = []
    const gc = new CacheGc({ store, quotaBytes: 100 * KIB, highWatermark: 0.9, lowWatermark: 0.5, now: () => now, onEvict: (t) => evicted.push(t) })
    const r = await gc.run()
    // 100 KiB > 90 KiB: drop the oldest until <= 50 KiB, i.e. tasks 1, 2 and 3
    assert.deepEqual(r.evicted.map((e) => e.taskId), [id(1), id(2), id(3)])
    assert.deepEqual(evicted, [id(1), id(2), id(3)])
    assert.deepEqual(r.after, { bytes: 40 * KIB, tasks: 2 })
    assert.deepEqual((await readdir(join(dir, 'tasks'))).sort(), [id(4), id(5)])
    assert.equal(gc.evictions, 3)
    assert.equal(gc.bytesEvicted, 60 * KIB)
  })

  it('should never evict a task in use, and take the next least recently used instead', async () => {
    const release = store.pin(id(1))
    const gc = new CacheGc({ store, quotaBytes: 100 * KIB, highWatermark: 0.9, lowWatermark: 0.5, now: () => now, inUse: (t) => t === id(2) })
    const r = await gc.run()
    assert.deepEqual(r.evicted.map((e) => e.taskId), [id(3), id(4), id(5)])
    assert.deepEqual(r.keptInUse.sort(), [id(1), id(2)])
    release()
    assert.equal(store.isPinned(id(1)), false)
  })

  it('should treat a task read moments ago (being served) as in use', async () => {
    const ts = await store.open(id(1), 'http://o/1')
    // a low watermark so low that every task would have to go
    const gc = new CacheGc({ store, quotaBytes: 100 * KIB, highWatermark: 0.5, lowWatermark: 0.05 })
    await ts.readPiece(0)
    const r = await gc.run()
    assert.ok(!r.evicted.some((e) => e.taskId === id(1)), 'a task just served was evicted')
    assert.ok(r.keptInUse.includes(id(1)))
    assert.equal(r.evicted.length, 4)
  })

  it('should expire tasks unused for longer than the TTL regardless of quota', async () => {
    const gc = new CacheGc({ store, ttlMs: 7 * 60_000, now: () => now })
    const r = await gc.run()
    // tasks 1 (9 min), 2 (8 min) are older than 7 minutes; 3 is exactly 7 and stays
    assert.deepEqual(r.evicted.map((e) => [e.taskId, e.reason]), [[id(1), 'ttl'], [id(2), 'ttl']])
    assert.equal((await store.list()).length, 3)
  })

  it('should refuse watermarks in the wrong order', () => {
    assert.throws(() => new CacheGc({ store, highWatermark: 0.5, lowWatermark: 0.8 }), /watermarks/)
  })
})
