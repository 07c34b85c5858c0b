import assert from 'node:assert/strict'
import { randomFillSync } from 'node:crypto'
import { createHasher, allocPieceBuffer } from '@damselfly/hasher'
import { blake3 } from '@damselfly/utils'

describe('the hashing worker', () => {
  it('should hash pieces in shared memory, moved ones and views alike, and hand back the same bytes', async () => {
    const hasher = createHasher({ threads: 1 })
    await hasher.start()
    try {
      const size = 1 << 20
      const shared = randomFillSync(allocPieceBuffer(size))
      const owned = randomFillSync(Buffer.allocUnsafeSlow(size))
      const view = randomFillSync(Buffer.allocUnsafeSlow(size + 4096)).subarray(4096)
      for (const [name, buf] of [['shared', shared], ['moved', owned], ['view', view], ['moved again', randomFillSync(Buffer.allocUnsafeSlow(size))]] as const) {
        const expected = Buffer.from(blake3(buf))
        const copy = Buffer.from(buf)
        const out = await hasher.hash(buf)
        assert.deepEqual(Buffer.from(out.digest), expected, name)
        assert.ok(Buffer.from(out.buf.buffer, out.buf.byteOffset, out.buf.byteLength).equals(copy), `${name}: the bytes handed back`)
      }
      // a moved buffer really went to the worker and came back: the caller's view was detached
      assert.equal(owned.byteLength, 0)
    } finally {
      await hasher.stop()
    }
  })
})
