import assert from 'node:assert/strict'
import { runBench } from '../helpers/bench.js'

describe('node pools (cloud-edge) with separate processes', function () {
  this.timeout(300_000)

  it('should let about one copy of the file cross into each pool and verify every output', async () => {
    const size = 24 * 1024 * 1024 + 777
    const r = await runBench(['pools', '--json', '--per-pool', '4', '--size', String(size)], 280_000)
    assert.equal(r.allVerified, true)
    assert.ok(r.originBytes <= size * 1.02 + 1024, `origin served ${r.originBytes}`)
    for (const [pool, p] of Object.entries<any>(r.pools)) {
      assert.equal(p.peers, 4)
      assert.ok(p.crossPoolBytes > 0, `nothing crossed into ${pool}?`)
      assert.ok(p.crossPoolBytes <= size * 1.25, `${pool}: ${p.crossPoolBytes} bytes crossed for a ${size}-byte file`)
    }
  })
})
