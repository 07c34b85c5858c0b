import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOrigin, writeRandomFile, sha256File, type Origin } from '@damselfly/testkit'
import { startLab, type Lab } from '@damselfly/cli'
import { getVia, type GetResult } from '@damselfly/cli'
import { fetchJson } from '@damselfly/testkit'
import { metric } from '../helpers/metrics.js'

/** A labelled metric summed over every peer and seed, by label value (each daemon must report it). */
async function summed (eps: NonNullable<Lab['endpoints']>, name: string, label: string): Promise<(value: string) => number> {
  const bodies = await Promise.all([...eps.peers.map((p) => p.metrics), ...eps.seeds.map((s) => s.metrics)].map(async (url) => await (await fetch(url)).text()))
  return (value) => bodies.reduce((a, body) => a + metric(body, name, `${label}="${value}"`), 0)
}

/** Bytes every peer and seed uploaded, summed, by what carried them. */
async function uploadedByTransport (eps: NonNullable<Lab['endpoints']>): Promise<(transport: string) => number> {
  return await summed(eps, 'damselfly_upload_transport_bytes_total', 'transport')
}

/** Every peer of the lab downloads `url` through its daemon into `dir`: each must succeed with exactly the bytes of `original`. */
async function everyPeerGets (eps: NonNullable<Lab['endpoints']>, url: string, dir: string, original: string): Promise<GetResult[]> {
  const results = await Promise.all(eps.peers.map(async (p, i) => await getVia(p, url, join(dir, `out-${i}.bin`))))
  for (const r of results) assert.equal(r.ok, true, JSON.stringify(r))
  const want = await sha256File(original)
  for (let i = 0; i < eps.peers.length; i++) assert.equal(await sha256File(join(dir, `out-${i}.bin`)), want, `peer ${i} output differs`)
  return results
}

describe('a swarm of separate processes on loopback', function () {
  this.timeout(240_000)
  let dir: string
  let origin: Origin
  let lab: Lab
  const SIZE = 48 * 1024 * 1024 + 4321

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfly-swarm-'))
    await writeRandomFile(join(dir, 'blob.bin'), SIZE)
    origin = await startOrigin({ files: { '/blob.bin': join(dir, 'blob.bin') } })
    lab = await startLab({ peers: 4, dataDir: join(dir, 'lab') })
  })

  after(async () => {
    await lab?.stop()
    await origin?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('should fetch from the origin once and give every peer identical bytes', async () => {
    const eps = lab.endpoints!
    const url = `${origin.url}/blob.bin`
    const results = await everyPeerGets(eps, url, dir, join(dir, 'blob.bin'))
    // the seed's one pass, plus the 1-byte probe of the size
    assert.ok(origin.bytesServed <= SIZE + 1024, `origin served ${origin.bytesServed} bytes for a ${SIZE}-byte file`)
    assert.equal(results.reduce((a, r) => a + r.bytesFromOrigin, 0), 0, 'no peer went to the origin')
    assert.ok(results.reduce((a, r) => a + r.bytesFromPeers, 0) > 0, 'peers served each other')
    // no temporary files left beside the outputs
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.tmp')), [])

    const tasks = await fetchJson<any[]>(`${eps.scheduler.url}/api/v1/tasks`)
    assert.equal(tasks.length, 1)
    assert.equal(tasks[0].contentLength, SIZE)
    assert.equal(tasks[0].seedState, 'done')

    // between these separate processes every piece went over a (default: TLS) data channel, none over libp2p streams
    const sum = await uploadedByTransport(eps)
    assert.ok(sum('tls') >= SIZE * eps.peers.length, `tls bytes ${sum('tls')}`)
    assert.equal(sum('libp2p'), 0)
    assert.equal(sum('tcp'), 0)

    // the whole file fits the daemons' piece caches: every upload was served from memory, none read the disk again
    const lookups = await summed(eps, 'damselfly_piece_cache_lookups_total', 'result')
    assert.equal(lookups('miss'), 0)
    assert.ok(lookups('hit') * tasks[0].pieceLength >= sum('tcp') + sum('libp2p'), `cache hits ${lookups('hit')}`)
  })

  it('should serve a second request for the same content from the peer itself', async () => {
    const eps = lab.endpoints!
    const before = origin.bytesServed
    const r = await getVia(eps.peers[0], `${origin.url}/blob.bin`, join(dir, 'again.bin'))
    assert.equal(r.ok, true)
    assert.equal(origin.bytesServed, before)
    assert.deepEqual(await readFile(join(dir, 'again.bin')), await readFile(join(dir, 'blob.bin')))
  })

  it('should report a clear error and leave no file when the origin has no such object', async () => {
    const eps = lab.endpoints!
    const r = await getVia(eps.peers[1], `${origin.url}/missing.bin`, join(dir, 'missing.bin'))
    assert.equal(r.ok, false)
    assert.match(r.error?.message ?? '', /404/)
    await assert.rejects(readFile(join(dir, 'missing.bin')), { code: 'ENOENT' })
  })
})

describe('a swarm that encrypts its data channels (--data-channel tls)', function () {
  this.timeout(240_000)
  let dir: string
  let origin: Origin
  let lab: Lab
  const SIZE = 16 * 1024 * 1024 + 77

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfly-swarm-tls-'))
    await writeRandomFile(join(dir, 'blob.bin'), SIZE)
    origin = await startOrigin({ files: { '/blob.bin': join(dir, 'blob.bin') } })
    const args = ['--data-channel', 'tls']
    lab = await startLab({ peers: 2, dataDir: join(dir, 'lab'), peerArgs: args, seedArgs: args })
  })

  after(async () => {
    await lab?.stop()
    await origin?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('should move every piece between the processes over TLS, none in the clear', async () => {
    const eps = lab.endpoints!
    await everyPeerGets(eps, `${origin.url}/blob.bin`, dir, join(dir, 'blob.bin'))
    const sum = await uploadedByTransport(eps)
    assert.ok(sum('tls') >= SIZE * eps.peers.length, `tls bytes ${sum('tls')}`)
    assert.equal(sum('tcp'), 0)
    assert.equal(sum('libp2p'), 0)
  })
})

describe('damselfly get without a daemon', function () {
  this.timeout(60_000)

  it('should download standalone from the origin and verify the digest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dfly-standalone-'))
    const origin = await startOrigin({ files: { '/f': join(dir, 'f') } })
    try {
      await writeRandomFile(join(dir, 'f'), 5 * 1024 * 1024 + 3)
      const sha = await sha256File(join(dir, 'f'))
      // port 9 (discard) on loopback: nothing listens, so no daemon answers
      const ok = await getVia('http://127.0.0.1:9', `${origin.url}/f`, join(dir, 'out'), ['--digest', `sha256:${sha}`])
      assert.equal(ok.ok, true, JSON.stringify(ok))
      assert.equal(await sha256File(join(dir, 'out')), sha)
      const bad = await getVia('http://127.0.0.1:9', `${origin.url}/f`, join(dir, 'bad'), ['--digest', `sha256:${'0'.repeat(64)}`])
      assert.equal(bad.ok, false)
      assert.match(bad.error?.message ?? '', /digest/)
      await assert.rejects(readFile(join(dir, 'bad')), { code: 'ENOENT' })
    } finally {
      await origin.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
