import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { PieceStore, type TaskStore } from '@damselfly/storage'
import { createNode, listenAddrs } from '@damselfly/task-engine'
import { PieceServer, PieceClient, maybeQueued, PIECE_PROTOCOL } from '@damselfly/piece-exchange'
import { PieceRequest, PieceResponse, PieceStatus } from '@damselfly/proto'
import { initBlake3, blake3, silentLogger, FrameReader, lengthPrefixed } from '@damselfly/utils'
import type { Libp2p, Stream, Connection } from '@libp2p/interface'
import { waitFor } from '../helpers/faults.js'

const TASK = 'ce'.repeat(32)
const PIECE = 1024 * 1024

/**
 * The piece server reuses a sent piece's buffer once no libp2p queue holds it.
 * Reusing it one moment too early would send the next piece's bytes in place
 * of this one's: every piece is checked byte for byte here, under backpressure.
 */
describe('piece upload buffers are reused only once libp2p is done with them', function () {
  this.timeout(60_000)
  let dir: string
  let server: Libp2p
  let client: Libp2p
  let ts: TaskStore
  let store: PieceStore
  const content = randomBytes(PIECE * 24 + 1000)
  const pieceCount = Math.ceil(content.byteLength / PIECE)
  const piece = (i: number): Buffer => content.subarray(i * PIECE, Math.min(content.byteLength, (i + 1) * PIECE))

  before(async () => {
    await initBlake3()
    dir = await mkdtemp(join(tmpdir(), 'dfly-recycle-'))
    store = new PieceStore({ dataDir: dir })
    await store.start()
    ts = await store.open(TASK, 'http://o/x')
    await ts.initialise(content.byteLength, PIECE)
    for (let i = 0; i < pieceCount; i++) await ts.writePiece(i, piece(i), blake3(piece(i)))
    server = await createNode({})
    client = await createNode({})
    await Promise.all([server.start(), client.start()])
  })

  after(async () => {
    await Promise.all([server?.stop(), client?.stop()])
    await store?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('should see a buffer in the stream queue while the reader is paused, and not once it has read it', async () => {
    let received = 0
    let serverSide: { stream: Stream, connection: Connection } | undefined
    const got = Promise.withResolvers<void>()
    await client.handle('/test/sink/1.0.0', (stream, connection) => {
      serverSide = { stream, connection }
      stream.pause()
      stream.addEventListener('message', (evt) => { received += evt.data.byteLength; if (received === 4 * 1024 * 1024) got.resolve() })
    })
    const out = await server.dialProtocol(client.getMultiaddrs(), '/test/sink/1.0.0')
    const conn = server.getConnections(client.peerId)[0]
    const buf = Buffer.alloc(4 * 1024 * 1024, 7)
    out.send(buf)
    // far more than yamux's initial 256 KiB window: most of it must still be queued
    assert.equal(maybeQueued(out, conn, buf.buffer), true)
    serverSide!.stream.resume()
    await got.promise
    // the sender lets go of its queue once the last byte is on the socket, a moment after the reader has it all
    await waitFor('the sender to release the sent buffer', () => !maybeQueued(out, conn, buf.buffer), 10_000, 5)
    assert.equal(maybeQueued(out, conn, new ArrayBuffer(8)), false)
    await out.close()
    await client.unhandle('/test/sink/1.0.0')
  })

  /** a PieceServer whose alloc/release go through a counted pool */
  function countingServer (): { pieces: PieceServer, counts: { allocated: number, recycled: number, sent: number } } {
    const free: Uint8Array[] = []
    const counts = { allocated: 0, recycled: 0, sent: 0 }
    const pieces = new PieceServer(server, {
      log: silentLogger(),
      lookup: async () => ts,
      onUpload: () => { counts.sent++ },
      alloc: (length) => {
        const at = free.findIndex((f) => f.byteLength === length)
        if (at >= 0) return free.splice(at, 1)[0]
        counts.allocated++
        return Buffer.allocUnsafeSlow(length)
      },
      release: (b) => { counts.recycled++; free.push(b) }
    })
    return { pieces, counts }
  }

  it('should not reuse a buffer whose tail still waits for the reader (a reader that keeps stalling)', async () => {
    const { pieces, counts } = countingServer()
    await pieces.start()
    try {
      const stream = await client.dialProtocol(server.getMultiaddrs(), PIECE_PROTOCOL)
      const order = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3]
      for (const i of order) stream.send(lengthPrefixed(PieceRequest.encode({ taskId: TASK, index: i })))
      // a small read buffer: above it the stream pauses, yamux stops granting window, the parent's queue fills
      const reader = new FrameReader(stream, 64 * 1024)
      for (const i of order) {
        const head = PieceResponse.decode((await reader.readFrame(64))!)
        assert.equal(head.status, PieceStatus.OK)
        assert.equal(head.index, i)
        const body = Buffer.alloc(head.length)
        for (let off = 0; off < body.byteLength; off += 64 * 1024) {
          await reader.readInto(body.subarray(off, Math.min(body.byteLength, off + 64 * 1024)))
          // pacing, the behaviour under test: a reader slower than the parent sends
          await new Promise((resolve) => setTimeout(resolve, 2))
        }
        assert.ok(body.equals(piece(i)), `piece ${i} differs: its buffer was reused while still queued`)
      }
      await stream.close()
    } finally {
      await pieces.stop()
    }
    assert.ok(counts.recycled > 0, 'some buffers were recycled')
  })

  it('should not reuse a buffer still queued below the muxer while the reader process is stopped', async function () {
    // 64 pipelined requests on 16 streams: more than the socket takes, so plaintext waits in the connection's queue
    const { pieces, counts } = countingServer()
    await pieces.start()
    const args = JSON.stringify({
      peerId: server.peerId.toString(),
      addrs: listenAddrs(server),
      taskId: TASK,
      pieceLength: PIECE,
      contentLength: content.byteLength,
      digests: Array.from({ length: pieceCount }, (_, i) => Buffer.from(blake3(piece(i))).toString('hex')),
      rounds: 6
    })
    const child = spawn(process.execPath, [fileURLToPath(new URL('../helpers/piece-fetcher.js', import.meta.url)), args], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    try {
      const lines = createInterface({ input: child.stdout! })
      const result = new Promise<{ bad: number[] }>((resolve) => { lines.on('line', (l) => { const m = JSON.parse(l); if (m.done === true) resolve(m) }) })
      // stop the reader mid-transfer, several times: the parent keeps finishing sends into full queues
      for (let i = 0; i < 4; i++) {
        // mid-transfer: the parent has sent 8 more pieces since the last stop and holds 8 sent ones
        // its reader has not taken yet (the stops once all fell before the child had connected)
        const last = counts.sent
        await waitFor('the reader to be mid-transfer', () => counts.sent >= last + 8 && counts.sent - counts.recycled >= 8, 30_000, 2)
        child.kill('SIGSTOP')
        // the stall's length is the behaviour under test, not a wait for an event: a reader gone
        // for 400 ms, over which the parent's recycle checks (every 50 ms) see its queues full
        await new Promise((resolve) => setTimeout(resolve, 400))
        child.kill('SIGCONT')
      }
      const { bad } = await result
      assert.deepEqual(bad, [], 'pieces that arrived corrupted')
    } finally {
      child.kill('SIGCONT')
      child.kill()
      await exited
      await pieces.stop()
    }
    assert.ok(counts.recycled > 0, 'some buffers were recycled')
  })

  it('should deliver every piece intact while recycling the upload buffers', async () => {
    const { pieces, counts } = countingServer()
    await pieces.start()
    const fetcher = new PieceClient(client, { log: silentLogger(), streamsPerParent: 2 })
    const parent = { peerId: server.peerId.toString(), addrs: listenAddrs(server) }
    try {
      for (let round = 0; round < 3; round++) {
        let next = 0
        await Promise.all(Array.from({ length: 8 }, async () => {
          while (next < pieceCount) {
            const i = next++
            const buf = await fetcher.fetch(parent, TASK, i, piece(i).byteLength)
            // a slow consumer (pacing, the behaviour under test), so the server's queues fill up
            if (i % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 15))
            assert.ok(Buffer.from(buf).equals(piece(i)), `piece ${i} differs`)
          }
        }))
      }
    } finally {
      await fetcher.stop()
      await pieces.stop()
    }
    assert.ok(counts.recycled > pieceCount, `buffers recycled: ${counts.recycled}`)
    assert.ok(counts.allocated < pieceCount, `fresh buffers: ${counts.allocated} for ${3 * pieceCount} pieces sent`)
  })
})
