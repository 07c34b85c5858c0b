import assert from 'node:assert/strict'
import { runBench } from '../helpers/bench.js'

describe('the connect benchmark (quick)', function () {
  this.timeout(120_000)

  it('should measure new links of each kind against requests over open ones, every piece fetched whole over the link named', async () => {
    const s = await runBench(['connect', '--quick', '--json', '--runs', '2'], 110_000)
    assert.equal(s.scenario, 'connect')
    assert.deepEqual(Object.keys(s.results).sort(), ['libp2p', 'tcp', 'tcp-ticket', 'tls', 'tls-ticket'])
    for (const [kind, r] of Object.entries<any>(s.results)) {
      // a piece over a plain data channel, a TLS one, or a libp2p stream: nothing else
      assert.deepEqual(r.transports, [kind.replace('-ticket', '')], `${kind} measured ${JSON.stringify(r.transports)}`)
      // with the scheduler's ticket every new link went straight to the data port; without, none did
      assert.equal(r.withSchedulerTicket, kind.endsWith('-ticket') ? s.warmupLinks + s.runs * s.linksPerRun : 0, JSON.stringify(r))
      // warm-up links, then per run `linksPerRun` new links and as many requests over an open one, plus the one that opened it
      assert.equal(r.fetches, s.warmupLinks + 2 * s.runs * s.linksPerRun + 1, JSON.stringify(r))
      for (const k of ['newLinkCpuMs', 'requestCpuMs']) assert.ok(r[k] > 0, `${kind}.${k} is ${String(r[k])}`)
      assert.equal(r.setupSpreadMs.length, 2)
    }
  })
})
