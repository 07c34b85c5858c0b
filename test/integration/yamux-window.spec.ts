import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { createNode } from '@damselfly/task-engine'
import { FrameReader, lengthPrefixed } from '@damselfly/utils'
import type { Libp2p, Stream } from '@libp2p/interface'

const PROTOCOL = '/test/yamux-window/1.0.0'
/** yamux frame type of a window update */
const WINDOW_UPDATE = 1

/**
 * Control messages (scheduler plans, piece reports) are small and frequent:
 * a window update after every one of them doubled the frames through Noise
 * and yamux. Updates now go out once half the window is used, and neither a
 * stream of small messages nor a bulk transfer into a slow reader may stall.
 */
describe('yamux announces freed window once half of it is used', function () {
  this.timeout(60_000)
  let a: Libp2p
  let b: Libp2p
  let received: Promise<{ stream: Stream, windowUpdates: () => number }>

  before(async () => {
    a = await createNode({})
    b = await createNode({})
    await Promise.all([a.start(), b.start()])
  })

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()])
  })

  beforeEach(async () => {
    await b.unhandle(PROTOCOL)
    received = new Promise((resolve) => {
      b.handle(PROTOCOL, (stream) => {
        // count the window updates the receiving side sends back
        let updates = 0
        const s = stream as unknown as { sendFrame: (header: { type: number }, data?: unknown) => unknown }
        const send = s.sendFrame
        s.sendFrame = (header, data) => { if (header.type === WINDOW_UPDATE) updates++; return send(header, data) }
        resolve({ stream, windowUpdates: () => updates })
      }).catch(() => {})
    })
  })

  it('should carry 500 small messages in order with a handful of window updates, not 500', async () => {
    const out = await a.dialProtocol(b.getMultiaddrs(), PROTOCOL)
    for (let i = 0; i < 500; i++) out.send(lengthPrefixed(Buffer.from(`message ${i}|`.padEnd(200, '.'))))
    const { stream, windowUpdates } = await received
    const reader = new FrameReader(stream, 1024 * 1024)
    for (let i = 0; i < 500; i++) {
      const frame = await reader.readFrame(1024)
      assert.ok(frame != null, `message ${i} missing`)
      assert.equal(Buffer.from(frame.subarray()).toString().split('|')[0], `message ${i}`)
    }
    // 500 x ~200 bytes is 100 KB: less than half of the 256 KiB initial window
    assert.ok(windowUpdates() <= 3, `receiver sent ${windowUpdates()} window updates`)
    await out.close()
  })

  it('should move 32 MiB intact into a reader that keeps pausing, without stalling', async () => {
    const data = randomBytes(32 * 1024 * 1024)
    const out = await a.dialProtocol(b.getMultiaddrs(), PROTOCOL)
    const sending = (async () => {
      for (let off = 0; off < data.byteLength; off += 64 * 1024) {
        if (!out.send(data.subarray(off, off + 64 * 1024))) await new Promise((resolve) => out.addEventListener('drain', resolve, { once: true }))
      }
    })()
    const { stream, windowUpdates } = await received
    // a small high-water mark: the reader pauses the stream again and again
    const reader = new FrameReader(stream, 128 * 1024)
    const got = Buffer.allocUnsafe(data.byteLength)
    for (let off = 0; off < got.byteLength; off += 1024 * 1024) {
      await reader.readInto(got.subarray(off, off + 1024 * 1024))
      // a slow reader is the behaviour under test, not a wait for an event: every 4 MiB it takes
      // 20 ms off, long enough for the sender to fill the window it was granted
      if (off % (4 * 1024 * 1024) === 0) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await sending
    await out.close()
    assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(data).digest('hex'))
    // one update per half window (which grows up to 8 MiB), not one per 64 KiB frame (512)
    assert.ok(windowUpdates() < 200, `receiver sent ${windowUpdates()} window updates`)
  })

  it('should hand a reader that had paused everything the sender wrote before closing its end', async () => {
    // less than the initial 256 KiB window: all of it is sent and the sender closes before the reader takes a byte
    const data = randomBytes(200 * 1024)
    const out = await a.dialProtocol(b.getMultiaddrs(), PROTOCOL)
    const { stream } = await received
    // a 64 KiB high-water mark: the reader pauses the stream with most of the data still in it
    const reader = new FrameReader(stream, 64 * 1024)
    for (let off = 0; off < data.byteLength; off += 16 * 1024) assert.ok(out.send(data.subarray(off, off + 16 * 1024)))
    await out.close()
    // the receiving side has seen the sender's close (the case the fix is about): the FIN arrived while the reader was paused
    if (stream.remoteWriteStatus === 'writable') await new Promise((resolve) => stream.addEventListener('remoteCloseWrite', resolve, { once: true }))
    // what the paused stream still holds is data, not the end ("stream ended" before the fix)
    const got = Buffer.allocUnsafe(data.byteLength)
    await reader.readInto(got)
    assert.ok(got.equals(data))
    assert.equal(await reader.readFrame(1024), undefined, 'a clean end after the last byte')
  })
})
