import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { pureJsCrypto } from '@chainsafe/libp2p-noise'
import { noiseCrypto } from '@damselfly/utils/libp2p'

describe('noise crypto', () => {
  it('should derive the same three keys as libp2p-noise\'s own HKDF (or handshakes with other libp2p nodes fail)', () => {
    for (let i = 0; i < 50; i++) {
      const ck = randomBytes(32)
      const ikm = randomBytes(i === 0 ? 0 : 32)
      const ours = noiseCrypto.getHKDF(ck, ikm).map((k) => Buffer.from(k).toString('hex'))
      const theirs = pureJsCrypto.getHKDF(ck, ikm).map((k) => Buffer.from(k).toString('hex'))
      assert.deepEqual(ours, theirs)
      assert.equal(new Set(ours).size, 3)
    }
  })
})
