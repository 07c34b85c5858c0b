import assert from 'node:assert/strict'
import { runBench } from '../helpers/bench.js'

describe('the idle benchmark (quick)', function () {
  this.timeout(120_000)

  it('should measure every process of a lab at rest before and after a verified swarm download', async () => {
    const s = await runBench(['idle', '--quick', '--json'], 110_000)
    assert.equal(s.scenario, 'idle')
    assert.equal(s.allVerified, true)
    const daemons = ['seed', ...Array.from({ length: s.peers }, (_, i) => `peer${i}`)]
    // the bare node process beside them: the machine's own price of idling
    const names = ['scheduler', ...daemons, 'bareNode']
    for (const phase of [s.fresh, s.afterDownload]) {
      assert.deepEqual(Object.keys(phase.cpuPercent).sort(), [...names].sort())
      for (const n of names) {
        assert.equal(phase.windows[n].length, s.windows, n)
        for (const w of phase.windows[n]) assert.ok(Number.isFinite(w) && w >= 0, `${n}: ${String(w)}`)
        assert.ok(Number.isInteger(phase.wakeupsPerMinute[n]) && phase.wakeupsPerMinute[n] >= 0, `${n} wake-ups ${String(phase.wakeupsPerMinute[n])}`)
        // the process was still there to be read: a gone one reads 0
        assert.ok(phase.rssBytes[n] > 8 * 2 ** 20, `${n} RSS ${String(phase.rssBytes[n])}`)
      }
      assert.equal(phase.worstDaemonPercent, Math.max(...daemons.map((n) => phase.cpuPercent[n])))
      assert.equal(phase.bareNodePercent, phase.cpuPercent.bareNode)
      // every daemon holds its scheduler session
      for (const n of daemons) assert.ok(phase.connections[n] >= 1, `${n}: ${JSON.stringify(phase.connections)}`)
    }
  })
})
