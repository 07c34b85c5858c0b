import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { PieceStore } from '@damselfly/storage'
import { initBlake3, blake3 } from '@damselfly/utils'
import { createBackends } from '@damselfly/backend'
import { createHasher } from '@damselfly/hasher'
import { fetchFromSource } from '@damselfly/task-engine'
import { startOrigin, writeRandomFile } from '@damselfly/testkit'
import { silentLogger } from '@damselfly/utils'

const TASK = 'ab'.repeat(32)

describe('piece store', () => {
  let dir: string
  beforeEach(async () => { await initBlake3(); dir = await mkdtemp(join(tmpdir(), 'dfly-store-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('should write pieces in place and resume them after a restart', async () => {
    const content = randomBytes(10 * 1024)
    const store = new PieceStore({ dataDir: dir })
    await store.start()
    const ts = await store.open(TASK, 'http://o/x')
    await ts.initialise(content.byteLength, 4096)
    // out of order, like pieces arriving from several parents
    await ts.writePiece(2, content.subarray(8192), blake3(content.subarray(8192)))
    await ts.writePiece(0, content.subarray(0, 4096), blake3(content.subarray(0, 4096)))
    await store.stop()

    const again = new PieceStore({ dataDir: dir })
    await again.start()
    const ts2 = await again.open(TASK, 'http://o/x')
    assert.equal(ts2.contentLength, content.byteLength)
    assert.deepEqual([...ts2.bitfield.indexes()], [0, 2])
    assert.equal(ts2.hasPiece(1), false)
    assert.deepEqual(Buffer.from(await ts2.readPiece(2)), content.subarray(8192))
    assert.deepEqual(Buffer.from(ts2.digest(0)!), Buffer.from(blake3(content.subarray(0, 4096))))
    await assert.rejects(ts2.readPiece(1), { name: 'PieceNotFoundError' })
    await ts2.writePiece(1, content.subarray(4096, 8192), blake3(content.subarray(4096, 8192)))
    assert.equal(ts2.complete, true)
    await again.stop()
    assert.deepEqual(await readFile(join(dir, 'tasks', TASK, 'data')), content)
  })

  it('should start a partial task over in another layout, keep that after a restart, and never re-cut a complete one', async () => {
    const content = randomBytes(16 * 1024)
    const store = new PieceStore({ dataDir: dir })
    await store.start()
    const ts = await store.open(TASK, 'http://o/x')
    // held from an older piece length rule: 4 KiB pieces, two of four verified
    await ts.initialise(content.byteLength, 4096)
    await ts.writePiece(0, content.subarray(0, 4096), blake3(content.subarray(0, 4096)))
    await ts.writePiece(3, content.subarray(12288), blake3(content.subarray(12288)))
    await assert.rejects(ts.initialise(content.byteLength, 8192), { name: 'StorageError' })
    // the swarm's manifest says 8 KiB pieces
    await ts.relayout(content.byteLength, 8192)
    assert.equal(ts.pieceLength, 8192)
    assert.equal(ts.pieceCount, 2)
    assert.deepEqual([...ts.bitfield.indexes()], [])
    assert.equal(ts.digest(0), undefined)
    await assert.rejects(ts.readPiece(0), { name: 'PieceNotFoundError' })
    await ts.writePiece(1, content.subarray(8192), blake3(content.subarray(8192)))
    await store.stop()

    const again = new PieceStore({ dataDir: dir })
    await again.start()
    const ts2 = await again.open(TASK, 'http://o/x')
    assert.equal(ts2.pieceLength, 8192)
    assert.deepEqual([...ts2.bitfield.indexes()], [1])
    await ts2.writePiece(0, content.subarray(0, 8192), blake3(content.subarray(0, 8192)))
    assert.equal(ts2.complete, true)
    await assert.rejects(ts2.relayout(content.byteLength, 4096), { name: 'StorageError' })
    assert.equal(ts2.pieceLength, 8192)
    await again.stop()
    assert.deepEqual(await readFile(join(dir, 'tasks', TASK, 'data')), content)
  })

  it('should not list a piece whose bookkeeping was never saved (crash before flush)', async () => {
    const store = new PieceStore({ dataDir: dir, flushDelayMs: 60_000 })
    await store.start()
    const ts = await store.open(TASK, 'http://o/x')
    await ts.initialise(8192, 4096)
    await ts.flush()
    await ts.writePiece(0, Buffer.alloc(4096, 1), blake3(Buffer.alloc(4096, 1)))
    // no flush: as if the process died here
    const other = new PieceStore({ dataDir: dir })
    const seen = await other.open(TASK, 'http://o/x')
    assert.equal(seen.bitfield.cardinality, 0)
    await seen.close()
    await store.stop()
  })

  it('should refuse a piece of the wrong size', async () => {
    const store = new PieceStore({ dataDir: dir })
    await store.start()
    const ts = await store.open(TASK, 'http://o/x')
    await ts.initialise(8192, 4096)
    await assert.rejects(ts.writePiece(0, Buffer.alloc(100), new Uint8Array(32)), { name: 'StorageError' })
    await store.stop()
  })

  it('should reject task ids that could escape the data directory', async () => {
    const store = new PieceStore({ dataDir: dir })
    await assert.rejects(store.open('../../etc', 'x'), /invalid task id/)
  })

  it('should fetch only missing pieces from the origin when resuming', async () => {
    const file = join(dir, 'src.bin')
    const size = 5 * 4096 + 17
    await writeRandomFile(file, size)
    const origin = await startOrigin({ files: { '/f': file } })
    const hasher = createHasher({ threads: 1 })
    await hasher.start()
    const backends = createBackends()
    try {
      const store = new PieceStore({ dataDir: join(dir, 's') })
      await store.start()
      const ts = await store.open(TASK, `${origin.url}/f`)
      await ts.initialise(size, 4096)
      const src = await readFile(file)
      // pieces 1 and 2 survived an earlier run
      for (const i of [1, 2]) await ts.writePiece(i, src.subarray(i * 4096, (i + 1) * 4096), blake3(src.subarray(i * 4096, (i + 1) * 4096)))
      origin.bytesServed = 0
      await fetchFromSource({ backend: backends.forUrl(origin.url), url: `${origin.url}/f`, headers: {}, store: ts, hasher, log: silentLogger() })
      assert.equal(ts.complete, true)
      assert.equal(origin.bytesServed, size - 2 * 4096)
      await store.stop()
      assert.deepEqual(await readFile(join(dir, 's', 'tasks', TASK, 'data')), src)
    } finally {
      await hasher.stop()
      await backends.close()
      await origin.stop()
    }
  })
})
