import assert from 'node:assert/strict'
import { mkdtemp, rm, open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { PieceCache, PieceStore } from '@damselfly/storage'

const MiB = 1024 * 1024
const TASK = 'c4'.repeat(32)

describe('piece cache (pieces kept in memory for uploads)', () => {
  let freed: Uint8Array[]
  const cache = (maxBytes: number): PieceCache => new PieceCache(maxBytes, (buf) => { freed.push(buf) })
  beforeEach(() => { freed = [] })

  it('should evict the least recently used piece once over its size, and free it', () => {
    const c = cache(2 * MiB)
    const [a, b, d] = [Buffer.alloc(MiB, 1), Buffer.alloc(MiB, 2), Buffer.alloc(MiB, 3)]
    c.put('a', a)
    c.put('b', b)
    // a is used again, so b is now the oldest
    c.release(c.lend('a')!)
    c.put('d', d)
    assert.equal(c.lend('b'), undefined)
    assert.deepEqual(freed, [b])
    assert.equal(c.heldBytes, 2 * MiB)
    assert.equal(c.lend('a'), a)
    assert.equal(c.lend('d'), d)
    assert.deepEqual({ hits: c.hits, misses: c.misses }, { hits: 3, misses: 1 })
  })

  it('should not free a piece evicted while lent until its last borrower gives it back', () => {
    const c = cache(MiB)
    const a = Buffer.alloc(MiB, 1)
    c.put('a', a)
    const first = c.lend('a')!
    const second = c.lend('a')!
    c.put('b', Buffer.alloc(MiB, 2)) // evicts a: two loans still out
    assert.deepEqual(freed, [])
    c.release(first)
    assert.deepEqual(freed, [])
    c.release(second)
    assert.deepEqual(freed, [a])
    assert.equal(c.lend('a'), undefined)
  })

  it('should pass buffers it never held straight to free', () => {
    const c = cache(MiB)
    const other = Buffer.alloc(10)
    c.release(other)
    assert.deepEqual(freed, [other])
  })

  it('should lend the copy it holds when a second read of the same piece arrives, freeing the newcomer', () => {
    const c = cache(4 * MiB)
    const first = c.lendNew('a', Buffer.alloc(MiB, 1))
    const late = Buffer.alloc(MiB, 1)
    const second = c.lendNew('a', late)
    assert.equal(second, first)
    assert.deepEqual(freed, [late])
    assert.equal(c.size, 1)
  })

  it('should lend a piece larger than the whole cache without keeping it (0 turns the cache off)', () => {
    const c = cache(0)
    const big = Buffer.alloc(MiB)
    assert.equal(c.lendNew('a', big), big)
    assert.equal(c.size, 0)
    c.release(big)
    assert.deepEqual(freed, [big])
    const handed = Buffer.alloc(MiB)
    c.put('b', handed)
    assert.deepEqual(freed, [big, handed])
  })

  describe('in a task store', () => {
    let dir: string
    beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'damselfly-piece-cache-')) })
    afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

    /** overwrites piece `index` in the data file behind the store's back */
    async function scribble (store: { dataPath: string, pieceLength: number }, index: number): Promise<void> {
      const fh = await open(store.dataPath, 'r+')
      await fh.write(Buffer.alloc(store.pieceLength, 0xee), 0, store.pieceLength, index * store.pieceLength)
      await fh.close()
    }

    it('should serve a piece handed over after writing from memory, and from disk once dropped', async () => {
      const c = cache(8 * MiB)
      const store = await new PieceStore({ dataDir: dir, cache: c }).open(TASK, 'http://o/f')
      await store.initialise(2 * MiB, MiB)
      const piece = randomBytes(MiB)
      const digest = new Uint8Array(32)
      await store.writePiece(0, piece, digest)
      store.handOver(0, piece)
      await scribble(store, 0)
      const lent = await store.lendPiece(0, (n) => Buffer.alloc(n))
      assert.equal(lent, piece, 'the handed-over buffer itself, not a disk read')
      c.release(lent)
      assert.equal(c.hits, 1)

      // a piece that failed re-verification must not be served from memory again
      store.dropPiece(0)
      await store.writePiece(0, Buffer.alloc(MiB, 0xee), digest)
      const reread = await store.lendPiece(0, (n) => Buffer.alloc(n))
      assert.notEqual(reread, piece)
      assert.ok(Buffer.from(reread).equals(Buffer.alloc(MiB, 0xee)))
      assert.equal(c.misses, 1)
      // ... and that read is kept for the next asker
      assert.equal(await store.lendPiece(0, (n) => Buffer.alloc(n)), reread)
      await store.close()
      assert.equal(c.size, 0, 'a closed store leaves nothing in the cache')
    })

    it('should not let a task fetched again after removal find the old task\'s pieces', async () => {
      const c = cache(8 * MiB)
      const pieces = new PieceStore({ dataDir: dir, cache: c })
      const old = await pieces.open(TASK, 'http://o/f')
      await old.initialise(MiB, MiB)
      const stale = Buffer.alloc(MiB, 1)
      await old.writePiece(0, stale, new Uint8Array(32))
      old.handOver(0, stale)
      await pieces.remove(TASK)
      assert.equal(c.size, 0, 'removing the task empties its share of the cache')
      assert.ok(freed.includes(stale))

      const again = await pieces.open(TASK, 'http://o/f')
      await again.initialise(MiB, MiB)
      await again.writePiece(0, Buffer.alloc(MiB, 2), new Uint8Array(32))
      const lent = await again.lendPiece(0, (n) => Buffer.alloc(n))
      assert.ok(Buffer.from(lent).equals(Buffer.alloc(MiB, 2)))
      await pieces.stop()
    })
  })
})
