import assert from 'node:assert/strict'
import { runBench } from '../helpers/bench.js'

describe('the scale benchmark (quick)', function () {
  // two swarm sizes, three systems each; the margin is for machines shared with other test runs
  this.timeout(240_000)

  it('should report every system at every swarm size, with CPU per delivered GiB and every copy verified', async () => {
    const s = await runBench(['scale', '--quick', '--json'], 230_000)
    assert.equal(s.scenario, 'scale')
    assert.deepEqual(s.points.map((p: any) => p.peers), [2, 3])
    for (const p of s.points) {
      assert.ok(p.fileBytes > 0 && p.floorSeconds > 0)
      // the machine's loopback cost, measured before the run, and every system's CPU set against it
      assert.ok(p.machine.loopbackCpuPerGiB > 0, JSON.stringify(p.machine))
      assert.deepEqual(Object.keys(p.results).sort(), ['bittorrent', 'damselfly', 'direct'])
      for (const [name, r] of Object.entries<any>(p.results)) {
        // BitTorrent needs Debian packages (.ci/run installs them); without them it says why it was skipped
        if (name === 'bittorrent' && typeof r.skipped === 'string') continue
        assert.equal(r.skipped, undefined, `${name} at N=${String(p.peers)}: ${String(r.skipped)}`)
        for (const k of ['lastSeconds', 'cpuSeconds', 'cpuPerGiB', 'cpuPerLoopbackGiB', 'peakRssBytes']) assert.ok(r[k] > 0, `${name}.${k} at N=${String(p.peers)} is ${String(r[k])}`)
        assert.ok(Math.abs(r.cpuPerLoopbackGiB - r.cpuPerGiB / p.machine.loopbackCpuPerGiB) <= 0.02 * r.cpuPerLoopbackGiB + 0.01, `${name}: ${String(r.cpuPerLoopbackGiB)} vs ${String(r.cpuPerGiB)} / ${String(p.machine.loopbackCpuPerGiB)}`)
        assert.equal(r.allVerified, true, `${name} delivered a copy that differs at N=${String(p.peers)}`)
      }
      assert.equal(typeof p.results.damselfly.startupCpuSeconds, 'number')
    }
  })
})
