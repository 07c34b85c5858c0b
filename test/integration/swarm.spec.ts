import assert from 'node:assert/strict'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256File, fetchJson, summedBy } from '@damselfly/testkit'
import { getVia } from '@damselfly/cli'
import { withLab, everyPeerGets, uploadedByTransport } from '../helpers/fixtures.js'
import { NO_DAEMON } from '../helpers/cli.js'

describe('a swarm of separate processes on loopback', function () {
  this.timeout(240_000)
  const SIZE = 48 * 1024 * 1024 + 4321
  // piece caches the whole file fits in (the default, 32 MiB, holds 8 pieces of 4 MiB)
  const cache = ['--piece-cache', '64MiB']
  const f = withLab({ name: 'swarm', files: { 'blob.bin': SIZE }, lab: { peers: 4, peerArgs: cache, seedArgs: cache } })

  it('should fetch from the origin once and give every peer identical bytes', async () => {
    const eps = f.lab.endpoints!
    const results = await everyPeerGets(f, 'blob.bin')
    // the seed's one pass, plus the 1-byte probe of the size
    assert.ok(f.origin.bytesServed <= SIZE + 1024, `origin served ${f.origin.bytesServed} bytes for a ${SIZE}-byte file`)
    assert.equal(results.reduce((a, r) => a + r.bytesFromOrigin, 0), 0, 'no peer went to the origin')
    assert.ok(results.reduce((a, r) => a + r.bytesFromPeers, 0) > 0, 'peers served each other')
    // no temporary files left beside the outputs
    assert.deepEqual((await readdir(f.dir)).filter((n) => n.endsWith('.tmp')), [])

    const tasks = await fetchJson<any[]>(`${eps.scheduler.url}/api/v1/tasks`)
    assert.equal(tasks.length, 1)
    assert.equal(tasks[0].contentLength, SIZE)
    assert.equal(tasks[0].seedState, 'done')

    // between these separate processes every piece went over a (default: TLS) data channel, none over libp2p streams
    const sum = await uploadedByTransport(f.lab)
    assert.ok(sum('tls') >= SIZE * eps.peers.length, `tls bytes ${sum('tls')}`)
    assert.equal(sum('libp2p'), 0)
    assert.equal(sum('tcp'), 0)
    // every data channel was opened with a ticket from the scheduler's plan: straight to the parent's
    // data port, without a libp2p connection (and Noise handshake) per pair of peers
    const opened = await summedBy(eps.peers.map((p) => p.metrics), 'damselfly_data_channels_opened_total', 'ticket')
    assert.ok(opened('scheduler') >= eps.peers.length, `data channels opened with scheduler tickets: ${opened('scheduler')}`)
    assert.equal(opened('parent'), 0, 'no peer had to ask a parent for a ticket over libp2p')

    // the whole file fits the daemons' piece caches: every upload was served from memory, none read the disk again
    const lookups = await summedBy([...eps.peers, ...eps.seeds].map((p) => p.metrics), 'damselfly_piece_cache_lookups_total', 'result')
    assert.equal(lookups('miss'), 0)
    assert.ok(lookups('hit') * tasks[0].pieceLength >= sum('tcp') + sum('libp2p'), `cache hits ${lookups('hit')}`)
  })

  it('should serve a second request for the same content from the peer itself', async () => {
    const eps = f.lab.endpoints!
    const before = f.origin.bytesServed
    const r = await getVia(eps.peers[0], f.url('blob.bin'), join(f.dir, 'again.bin'))
    assert.equal(r.ok, true)
    assert.equal(f.origin.bytesServed, before)
    assert.deepEqual(await readFile(join(f.dir, 'again.bin')), await readFile(join(f.dir, 'blob.bin')))
  })

  it('should report a clear error and leave no file when the origin has no such object', async () => {
    const eps = f.lab.endpoints!
    const r = await getVia(eps.peers[1], f.url('missing.bin'), join(f.dir, 'missing.bin'))
    assert.equal(r.ok, false)
    assert.match(r.error?.message ?? '', /404/)
    await assert.rejects(readFile(join(f.dir, 'missing.bin')), { code: 'ENOENT' })
  })
})

describe('damselfly get without a daemon', function () {
  this.timeout(60_000)

  const f = withLab({ name: 'standalone', files: { f: 5 * 1024 * 1024 + 3 } })

  it('should download standalone from the origin and verify the digest', async () => {
    const sha = f.sha.f
    // NO_DAEMON: nothing listens there, so no daemon answers
    const ok = await getVia(NO_DAEMON, f.url('f'), join(f.dir, 'out'), ['--digest', `sha256:${sha}`])
    assert.equal(ok.ok, true, JSON.stringify(ok))
    assert.equal(await sha256File(join(f.dir, 'out')), sha)
    const bad = await getVia(NO_DAEMON, f.url('f'), join(f.dir, 'bad'), ['--digest', `sha256:${'0'.repeat(64)}`])
    assert.equal(bad.ok, false)
    assert.match(bad.error?.message ?? '', /digest/)
    await assert.rejects(readFile(join(f.dir, 'bad')), { code: 'ENOENT' })
  })
})
