import assert from 'node:assert/strict'
import { request } from 'node:http'
import { join } from 'node:path'
import { sha256File, fetchJson, waitFor } from '@damselfly/testkit'
import { getVia } from '@damselfly/cli'
import { withLab } from '../helpers/fixtures.js'
import { metric, scrape } from '@damselfly/testkit'
import { ByteClock, within } from '../helpers/rate.js'

const MiB = 1024 * 1024
const log: string[] = []

/** PUT /api/v1/limits with the daemon's API token */
async function putLimits (d: { api: string, apiToken?: string }, body: unknown): Promise<{ status: number, json: any }> {
  const res = await fetch(`${d.api}/api/v1/limits`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${d.apiToken ?? ''}` }, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json() }
}

describe('limits: back-to-source concurrency, and traffic outside P2P', function () {
  this.timeout(300_000)
  const f = withLab({
    name: 'limits-origin',
    files: { 't0.bin': 12 * MiB, 't1.bin': 12 * MiB, 't2.bin': 12 * MiB, 't3.bin': 12 * MiB, 'one.bin': 24 * MiB, 'plain.dat': 56 * MiB },
    // a slow origin: the seed's requests stay open long enough to be counted side by side
    origin: { rateBytesPerSec: 8 * MiB },
    // the per-peer concurrency comes from the flag; the rest is changed at run time
    lab: { peers: 1, seedArgs: ['--back-to-source-concurrency', '2', '--back-to-source-task-concurrency', '3'], proxyAllow: ['127.0.0.1'] }
  })
  after(() => { if (log.length > 0) process.stdout.write(`      measured:\n${log.map((l) => `        ${l}\n`).join('')}`) })

  it('should keep the seed\'s origin requests within its back-to-source concurrency, counted by the origin, and take a new one at run time', async () => {
    const eps = f.lab.endpoints!
    const seed = eps.seeds[0]
    const limits = await fetchJson<any>(`${seed.api}/api/v1/limits`)
    assert.equal(limits.backToSourceConcurrency, 2)
    assert.equal(limits.backToSourceTaskConcurrency, 3)
    assert.equal((await putLimits(seed, { backToSourceTaskConcurrency: 0 })).status, 400)
    assert.equal((await putLimits(seed, { backToSourceConcurrency: 1.5 })).status, 400)
    f.origin.resetPeak()
    // four new tasks at once: up to 4 x 3 ranged requests would run without the per-peer limit
    const names = ['t0.bin', 't1.bin', 't2.bin', 't3.bin']
    const gets = names.map(async (n) => await getVia(eps.peers[0], `${f.origin.url}/${n}`, join(f.dir, `out-${n}`), ['--piece-length', String(MiB)]))
    // a third of the bytes under the limit of 2, with the others' requests queued at the seed
    await waitFor('16 MiB served by the origin', () => f.origin.bytesServed >= 16 * MiB, 60_000)
    const under2 = f.origin.peakFetchesInFlight
    const body = await scrape(seed.metrics)
    assert.ok(metric(body, 'damselfly_back_to_source_requests', 'state="waiting"') > 0, 'no origin request waited for a slot')
    assert.equal(under2, 2, `the origin saw ${under2} of the seed's requests at once under a limit of 2`)
    // raised at run time: the queued requests start without a restart
    assert.equal((await putLimits(seed, { backToSourceConcurrency: 5 })).json.backToSourceConcurrency, 5)
    await waitFor('more than 2 origin requests once the limit is 5', () => f.origin.fetchesInFlight >= 3, 30_000)
    const results = await Promise.all(gets)
    for (const [i, r] of results.entries()) {
      assert.equal(r.ok, true, JSON.stringify(r))
      assert.equal(await sha256File(join(f.dir, `out-${names[i]}`)), f.sha[names[i]])
    }
    const under5 = f.origin.peakFetchesInFlight
    assert.ok(under5 >= 3 && under5 <= 5, `the origin saw ${under5} requests at once under a limit of 5`)
    const wait = metric(await scrape(seed.metrics), 'damselfly_back_to_source_slot_wait_seconds_total')
    assert.ok(wait > 0, 'no slot wait counted')
    log.push(`per peer: at most ${under2} origin requests at once under 2, ${under5} under 5 (PUT); slot wait ${wait.toFixed(1)} s`)
  })

  it('should split one task over at most backToSourceTaskConcurrency origin requests, counted by the origin', async () => {
    const eps = f.lab.endpoints!
    const seed = eps.seeds[0]
    // no per-peer limit: the task's own limit is the one that holds
    const set = await putLimits(seed, { backToSourceConcurrency: 0, backToSourceTaskConcurrency: 2 })
    assert.equal(set.json.backToSourceTaskConcurrency, 2)
    await waitFor('the origin idle', () => f.origin.fetchesInFlight === 0, 10_000)
    f.origin.resetPeak()
    const r = await getVia(eps.peers[0], `${f.origin.url}/one.bin`, join(f.dir, 'out-one.bin'), ['--piece-length', String(MiB)])
    assert.equal(r.ok, true, JSON.stringify(r))
    assert.equal(await sha256File(join(f.dir, 'out-one.bin')), f.sha['one.bin'])
    const ranged = f.origin.requestLog.filter((q) => q.path === '/one.bin' && q.method === 'GET' && q.range !== 'bytes=0-0')
    assert.equal(f.origin.peakFetchesInFlight, 2, `one task ran ${f.origin.peakFetchesInFlight} origin requests at once under a task limit of 2`)
    assert.equal(ranged.length, 2, `the task's missing pieces went in ${ranged.length} ranged requests, not 2`)
    log.push(`per task: ${f.origin.peakFetchesInFlight} origin requests at once under 2 (${ranged.map((q) => q.range).join(', ')})`)
  })

  it('should hold the download rate on proxy pass-through answers, counted by the client', async () => {
    const eps = f.lab.endpoints!
    const peer = eps.peers[0]
    assert.equal((await putLimits(peer, { downloadRate: '4MiB' })).json.downloadRate, 4 * MiB)
    // the origin's own 8 MiB/s is above the limit; plain.dat matches no P2P rule, so it passes through
    const proxy = new URL(peer.proxy!)
    const url = `${f.origin.url}/plain.dat`
    const clock = new ByteClock()
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: proxy.hostname, port: proxy.port, path: url, headers: { host: new URL(url).host } }, (res) => {
        res.on('data', (chunk: Buffer) => { clock.add(chunk.byteLength) })
        res.on('end', () => { resolve(res.statusCode ?? 0) })
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end()
    })
    assert.equal(status, 200)
    assert.equal(clock.bytes, 56 * MiB)
    const m = clock.rate(clock.samples[0].t + 1000)
    log.push(within('proxy pass-through at a 4 MiB/s download limit, counted by the client', m, 4 * MiB))
    assert.ok(m.seconds >= 10, `measured over ${m.seconds} s, less than 10 s`)
    const body = await scrape(peer.metrics)
    assert.ok(metric(body, 'damselfly_rate_limit_wait_seconds_total', 'direction="download"') > 5, 'the pass-through did not wait on the download limiter')
    await putLimits(peer, { downloadRate: 0 })
  })
})
