import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { PieceStore } from '@damselfly/storage'
import { initBlake3, blake3, allocAligned, alignedCapacity } from '@damselfly/utils'

const TASK = 'd1'.repeat(32)
const PIECE = 1024 * 1024

/** pages of `file` held in the page cache (util-linux fincore) */
function cachedBytes (file: string): number {
  return Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file]).toString().trim())
}

/**
 * Pieces in page-aligned buffers bypass the page cache (O_DIRECT): the file
 * must hold exactly the content (the last piece's alignment padding cut
 * off), read back byte for byte through either path, and leave no cached
 * pages behind where the filesystem supports it.
 */
describe('piece store with direct I/O', () => {
  let dir: string
  beforeEach(async () => { await initBlake3(); dir = await mkdtemp(join(tmpdir(), 'dfly-dio-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  const content = randomBytes(PIECE * 5 + 1234)
  const piece = (i: number): Buffer => content.subarray(i * PIECE, Math.min(content.byteLength, (i + 1) * PIECE))
  const aligned = (i: number): Buffer => { const b = allocAligned(piece(i).byteLength); b.set(piece(i)); return b }

  it('should hand out page-aligned buffers with room to the end of their page', () => {
    const b = allocAligned(PIECE + 1)
    assert.equal(b.byteLength, PIECE + 1)
    assert.ok((alignedCapacity(b) ?? 0) >= PIECE + 4096)
    assert.equal(alignedCapacity(b.subarray(1)), undefined, 'an unaligned view')
    assert.equal(alignedCapacity(Buffer.alloc(16)), undefined)
  })

  it('should write aligned pieces past the page cache and read them back exactly', async () => {
    const store = new PieceStore({ dataDir: dir })
    await store.start()
    const ts = await store.open(TASK, 'http://o/x')
    await ts.initialise(content.byteLength, PIECE)
    // the odd-sized last piece first: its padding must not survive the pieces after it
    for (const i of [5, 0, 3, 1, 4, 2]) await ts.writePiece(i, aligned(i), blake3(piece(i)))
    await ts.flush()
    assert.equal((await stat(ts.dataPath)).size, content.byteLength)
    assert.equal(cachedBytes(ts.dataPath), 0, 'no page of the file went through the page cache')
    for (let i = 0; i < 6; i++) {
      const viaDirect = await ts.readPiece(i, (n) => allocAligned(n))
      assert.ok(Buffer.from(viaDirect).equals(piece(i)), `piece ${i} read with O_DIRECT`)
      assert.ok(Buffer.from(await ts.readPiece(i)).equals(piece(i)), `piece ${i} read buffered`)
    }
    assert.ok((await readFile(ts.dataPath)).equals(content))
    await store.stop()
  })

  it('should keep pieces in the page cache when direct I/O is off', async () => {
    const store = new PieceStore({ dataDir: dir, directIo: false })
    await store.start()
    const ts = await store.open(TASK, 'http://o/x')
    await ts.initialise(content.byteLength, PIECE)
    for (let i = 0; i < 6; i++) await ts.writePiece(i, aligned(i), blake3(piece(i)))
    await ts.flush()
    assert.ok(cachedBytes(ts.dataPath) >= content.byteLength - 4096)
    assert.ok((await readFile(ts.dataPath)).equals(content))
    await store.stop()
  })

  it('should mix buffered and direct pieces in one file', async () => {
    const store = new PieceStore({ dataDir: dir })
    await store.start()
    const ts = await store.open(TASK, 'http://o/x')
    await ts.initialise(content.byteLength, PIECE)
    for (let i = 0; i < 6; i++) await ts.writePiece(i, i % 2 === 0 ? aligned(i) : Buffer.from(piece(i)), blake3(piece(i)))
    await ts.flush()
    assert.ok((await readFile(ts.dataPath)).equals(content))
    await store.stop()
  })

  it('should fall back to plain buffers under an address-space limit (ulimit -v) and keep pieces intact', () => {
    // V8 reserves a large range for every shared WebAssembly memory; such a process is refused it
    const script = fileURLToPath(new URL('../helpers/pieces-under-limit.js', import.meta.url))
    const out = execFileSync('bash', ['-c', `ulimit -v 8000000 && exec "${process.execPath}" "${script}"`]).toString()
    assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), { shared: false, intact: true })
  })

  // tmpfs takes O_DIRECT from Linux 6.6 on and refuses it before: either way the pieces must read back exactly
  it('should store pieces on tmpfs exactly', async function () {
    let shm: string
    try { shm = await mkdtemp('/dev/shm/dfly-dio-') } catch { this.skip() }
    try {
      const store = new PieceStore({ dataDir: shm })
      await store.start()
      const ts = await store.open(TASK, 'http://o/x')
      await ts.initialise(content.byteLength, PIECE)
      for (let i = 0; i < 6; i++) await ts.writePiece(i, aligned(i), blake3(piece(i)))
      for (let i = 0; i < 6; i++) assert.ok(Buffer.from(await ts.readPiece(i, (n) => allocAligned(n))).equals(piece(i)))
      assert.ok((await readFile(ts.dataPath)).equals(content))
      await store.stop()
    } finally {
      await rm(shm, { recursive: true, force: true })
    }
  })
})
