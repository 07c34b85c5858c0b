import assert from 'node:assert/strict'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { sha256File, fetchJson, metric, scrape, waitFor } from '@damselfly/testkit'
import { getVia } from '@damselfly/cli'
import { PIECE_PROTOCOL } from '@damselfly/piece-exchange'
import { PieceRequest } from '@damselfly/proto'
import { RoguePeer } from '../helpers/rogue-peer.js'
import { lengthPrefixed } from '@damselfly/utils'
import { withLab } from '../helpers/fixtures.js'
import { damselfly } from '../helpers/cli.js'
import { ByteClock, poll, within } from '../helpers/rate.js'
import type { Libp2p } from '@libp2p/interface'

const MiB = 1024 * 1024
/** pieces of 1 MiB: the parents' per-piece counters then move often enough to time a rate by */
const PIECE = MiB
const log: string[] = []
/**
 * What an origin has counted runs ahead of what its client took by the socket buffers between
 * them (loopback TCP autotunes them to several MiB each side): an origin-side rate is timed only
 * once this much has been sent, when those buffers are full and the origin goes at the reader's pace.
 * How full they are still drifts by a MiB or two, so an origin-side window must hold tens of MiB
 * to hold 5% (at 8 s / 30 MiB it read 5-6% low; the limiter itself had waited 11.8 of 12 s)
 */
const BUFFERED = 14 * MiB

/** PUT /api/v1/limits with the peer's API token (a state-changing route: the local API's auth hook wants it) */
async function putLimits (peer: { api: string, apiToken?: string }, body: unknown, token = peer.apiToken): Promise<{ status: number, json: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token != null) headers.authorization = `Bearer ${token}`
  const res = await fetch(`${peer.api}/api/v1/limits`, { method: 'PUT', headers, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json() }
}

describe('limits: upload, download, back-to-source and per-request rates', function () {
  this.timeout(300_000)
  let node: Libp2p
  let rogue: RoguePeer
  const f = withLab({
    name: 'limits',
    files: { 'a.bin': 96 * MiB, 'b.bin': 24 * MiB, 'c.bin': 80 * MiB },
    // the upload and back-to-source limits come from the flags; the rest is set at run time
    lab: { peers: 2, peerArgs: ['--upload-rate', '3MiB'], seedArgs: ['--back-to-source-rate', '6MiB'] }
  })

  before(async () => {
    // a member of the swarm (parents serve only holders of the scheduler's grant for a task)
    rogue = new RoguePeer({ schedulerUrl: f.lab.endpoints!.scheduler.url })
    await rogue.start()
    await rogue.connect()
    node = rogue.node
  })

  after(async () => {
    if (log.length > 0) process.stdout.write(`      measured:\n${log.map((l) => `        ${l}\n`).join('')}`)
    await rogue?.stop()
  })

  it('should hold the seed\'s back-to-source rate, counted by the origin', async () => {
    const eps = f.lab.endpoints!
    const url = f.url('a.bin')
    const clock = new ByteClock()
    const sampler = poll(clock, () => f.origin.bytesServed, 50)
    const r = await getVia(eps.peers[0], url, join(f.dir, 'a0.bin'), ['--piece-length', String(PIECE)])
    await sampler.stop()
    assert.equal(r.ok, true, JSON.stringify(r))
    assert.equal(await sha256File(join(f.dir, 'a0.bin')), f.sha['a.bin'])
    const m = clock.rate(clock.timeAt(BUFFERED))
    log.push(within('back-to-source (seed, --back-to-source-rate 6MiB) at the origin', m, 6 * MiB))
    assert.ok(m.seconds >= 5, `measured over ${m.seconds} s, less than 5 s`)
  })

  it('should hold the upload rate counted by the receiver, take a new rate mid-transfer, and keep the control plane answering at 1 MiB/s', async () => {
    const eps = f.lab.endpoints!
    const peer = eps.peers[0]
    const api = peer.api
    // the flag's value, as the API reports it
    const before = await fetchJson<any>(`${api}/api/v1/limits`)
    assert.equal(before.uploadRate, 3 * MiB)
    assert.equal((await putLimits(peer, { uploadRate: 0 }, 'not-the-token')).status, 401)
    assert.equal((await fetchJson<any>(`${api}/api/v1/limits`)).uploadRate, 3 * MiB, 'a refused PUT changed the limit')
    assert.equal((await putLimits(peer, { uploadRate: '1MiB' })).json.uploadRate, MiB)
    assert.equal((await putLimits(peer, { uploadRate: 'fast' })).status, 400)
    assert.equal((await putLimits(peer, { nonsense: 1 })).status, 400)

    // a plain libp2p client asks peer 0 for every piece of a.bin and counts what arrives
    const info = await fetchJson<any>(`${api}/api/v1/info`)
    const addrs = (info.addrs as string[]).map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${info.id}`))
    const { taskId, grant } = await rogue.join(f.url('a.bin'), PIECE)
    const total = 64 * MiB
    const clock = new ByteClock()
    const done = Promise.withResolvers<void>()
    for (let s = 0; s < 2; s++) {
      const stream = await node.dialProtocol(addrs, PIECE_PROTOCOL)
      stream.addEventListener('message', (e) => {
        clock.add(e.data.byteLength)
        // answers carry a few header bytes per piece beside the piece bytes
        if (clock.bytes >= total) done.resolve()
      })
      for (let i = s; i < 64; i += 2) stream.send(lengthPrefixed(PieceRequest.encode({ taskId, index: i, grant })))
    }
    const began = performance.now()
    // under the 1 MiB/s limit, with the uplink saturated, the control plane answers
    const ready = await fetchJson<any>(`${api}/readyz`)
    assert.equal(ready.scheduler, true)
    const peers = await fetchJson<any[]>(`${eps.scheduler.url}/api/v1/peers`)
    assert.ok(peers.some((p) => p.id === info.id), 'the limited peer left the scheduler')
    const limits = await fetchJson<any>(`${api}/api/v1/limits`)
    assert.equal(limits.uploadRate, MiB)
    // phase 1 is a measuring window, not a wait for an event: it lasts until 8 MiB have arrived
    // (7-8 s at 1 MiB/s after the bucket's first burst, long enough to time the rate by), then the
    // limit goes to 6 MiB/s without a restart
    await waitFor('8 MiB at the slow rate', () => clock.bytes >= 8 * MiB, 60_000)
    const changedAt = performance.now()
    assert.equal((await putLimits(peer, { uploadRate: 6 * MiB })).json.uploadRate, 6 * MiB)
    await done.promise
    const slow = clock.rate(began + 1000, changedAt)
    const fast = clock.rate(changedAt + 500)
    log.push(within('upload at 1 MiB/s (PUT), counted by the receiver', slow, MiB))
    log.push(within('upload at 6 MiB/s (PUT mid-transfer), counted by the receiver', fast, 6 * MiB))
    assert.ok(slow.seconds >= 5 && fast.seconds >= 5, `windows too short: ${slow.seconds} s, ${fast.seconds} s`)
    const body = await scrape(eps.peers[0].metrics)
    assert.equal(metric(body, 'damselfly_rate_limit_bytes_per_second', 'direction="upload"'), 6 * MiB)
    assert.ok(metric(body, 'damselfly_rate_limit_wait_seconds_total', 'direction="upload"') > 1, 'no upload wait counted')
    // back to unlimited for the next tests
    await putLimits(peer, { uploadRate: 0 })
  })

  it('should hold the download rate, counted by the parents', async () => {
    const eps = f.lab.endpoints!
    const receiver = eps.peers[1]
    await putLimits(eps.peers[0], { uploadRate: 0 })
    assert.equal((await putLimits(receiver, { downloadRate: '8MiB' })).json.downloadRate, 8 * MiB)
    // every byte peer 1 gets leaves the seed or peer 0 (both hold a.bin already)
    const senders = [eps.seeds[0].metrics, eps.peers[0].metrics]
    const uploaded = async (): Promise<number> => {
      const bodies = await Promise.all(senders.map(scrape))
      return bodies.reduce((a, b) => a + metric(b, 'damselfly_upload_bytes_total'), 0)
    }
    const clock = new ByteClock()
    const base = await uploaded()
    const sampler = poll(clock, async () => await uploaded() - base, 100)
    const r = await getVia(receiver, f.url('a.bin'), join(f.dir, 'a1.bin'), ['--piece-length', String(PIECE)])
    await sampler.stop()
    assert.equal(r.ok, true, JSON.stringify(r))
    assert.equal(r.bytesFromOrigin, 0)
    const m = clock.rate(clock.samples[0].t + 1000)
    log.push(within('download at 8 MiB/s (PUT), counted by the parents', m, 8 * MiB))
    assert.ok(m.seconds >= 5, 'measured over less than 5 s')
    await putLimits(receiver, { downloadRate: 0 })
  })

  it('should hold a per-request rate (get --limit-rate), counted by the parent', async () => {
    const eps = f.lab.endpoints!
    // b.bin is new: the seed reads it from the origin (6 MiB/s) and uploads it to peer 1, which asked for 2 MiB/s
    const clock = new ByteClock()
    const sampler = poll(clock, async () => metric(await scrape(eps.seeds[0].metrics), 'damselfly_upload_bytes_total'), 100)
    const r = await getVia(eps.peers[1], f.url('b.bin'), join(f.dir, 'b1.bin'), ['--piece-length', String(PIECE), '--limit-rate', '2MiB'])
    await sampler.stop()
    assert.equal(r.ok, true, JSON.stringify(r))
    assert.equal(await sha256File(join(f.dir, 'b1.bin')), f.sha['b.bin'])
    const m = clock.rate(clock.samples[1].t + 1000)
    log.push(within('get --limit-rate 2MiB through the daemon, counted by the seed', m, 2 * MiB))
    assert.ok(m.seconds >= 5, 'measured over less than 5 s')
  })

  it('should hold a per-request rate without a daemon (get --standalone --limit-rate), counted by the origin', async () => {
    const clock = new ByteClock()
    const base = f.origin.bytesServed
    const sampler = poll(clock, () => f.origin.bytesServed - base, 50)
    const run = await damselfly(['get', f.url('c.bin'), '-O', join(f.dir, 'c.bin'), '--standalone', '--limit-rate', '6MiB', '--json'])
    await sampler.stop()
    assert.equal(run.code, 0, run.stderr)
    const m = clock.rate(clock.timeAt(BUFFERED))
    log.push(within('get --standalone --limit-rate 6MiB, counted by the origin', m, 6 * MiB))
    assert.ok(m.seconds >= 5, 'measured over less than 5 s')
  })
})
