import assert from 'node:assert/strict'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { sha256File, metric, scrape } from '@damselfly/testkit'
import { createNode } from '@damselfly/task-engine'
import { PIECE_PROTOCOL } from '@damselfly/piece-exchange'
import { SCHEDULER_PROTOCOL, PeerMessage, PieceRequest, NO_TASK_KEY_PARTS } from '@damselfly/proto'
import { encodeVarint, lengthPrefixed } from '@damselfly/utils'
import { getVia } from '@damselfly/cli'
import { fetchJson } from '@damselfly/testkit'
import { prng, mutate } from '../helpers/prng.js'
import { withLab } from '../helpers/fixtures.js'
import type { Libp2p, Stream } from '@libp2p/interface'

const SEED = 0x5eed
const ITERATIONS = 120

async function closedWithin (stream: Stream, ms: number): Promise<boolean> {
  if (stream.status !== 'open') return true
  return await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(stream.status !== 'open'), ms)
    stream.addEventListener('close', () => { clearTimeout(t); resolve(true) }, { once: true })
  })
}

async function rss (metricsUrl: string): Promise<number> {
  return metric(await scrape(metricsUrl), 'process_resident_memory_bytes')
}

describe('fuzzing the piece and scheduler protocols over real libp2p streams', function () {
  this.timeout(180_000)
  let node: Libp2p
  const f = withLab({ name: 'fuzz-wire', files: { 'f.bin': 3 * 1024 * 1024 + 1 }, lab: { peers: 1, token: 'fuzz-token' } })

  before(async () => {
    // a member's node (the lab's libp2p is a private network keyed by its token)
    node = await createNode({ clusterToken: 'fuzz-token' })
    await node.start()
  })

  after(async () => { await node?.stop() })

  /** Sends garbage on fresh streams; every stream must be closed by the other side, which must stay up. */
  async function fuzzProtocol (addrs: string[], peerId: string, protocol: string, valid: Uint8Array[], fixed: Uint8Array[]): Promise<void> {
    const r = prng(SEED)
    const targets = addrs.map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${peerId}`))
    const inputs: Uint8Array[][] = fixed.map((f) => [f])
    for (let i = 0; i < ITERATIONS; i++) {
      const chunks: Uint8Array[] = []
      for (let n = 1 + r.int(3); n > 0; n--) {
        const body = mutate(r, valid)
        // half the time a well-formed frame around the garbage, half the time raw bytes (bad framing)
        chunks.push(r.int(2) === 0 ? lengthPrefixed(body).subarray() : body)
      }
      inputs.push(chunks)
    }
    let unclosed = 0
    for (const [i, chunks] of inputs.entries()) {
      const stream = await node.dialProtocol(targets, protocol)
      try { for (const c of chunks) stream.send(c) } catch {}
      if (!(await closedWithin(stream, 500))) {
        // an incomplete frame: once we stop sending, the other side must give up on it too
        void stream.close({ signal: AbortSignal.timeout(3000) }).catch(() => {})
        if (!(await closedWithin(stream, 4000))) { unclosed++; stream.abort(new Error(`input ${i} left open`)) }
      }
    }
    assert.equal(unclosed, 0, `${unclosed} streams were left open by the other side`)
  }

  it('should close every garbage piece stream and keep serving', async () => {
    const eps = f.lab.endpoints!
    const peer = eps.peers[0]
    const info = await fetchJson<any>(`${peer.api}/api/v1/info`)
    const before = await rss(peer.metrics)
    await fuzzProtocol(info.addrs, peer.id, PIECE_PROTOCOL, [PieceRequest.encode({ taskId: 'ab'.repeat(32), index: 1 })], [
      Uint8Array.from([...encodeVarint(100 * 1024 * 1024), 1, 2, 3]), // a frame far over the request limit
      new Uint8Array(11).fill(0xff), // a length prefix that never ends
      lengthPrefixed(PieceRequest.encode({ taskId: 'a'.repeat(4000), index: 0 })).subarray(), // oversized request
      lengthPrefixed(PieceRequest.encode({ taskId: '../../../etc/passwd', index: 0 })).subarray()
    ])
    assert.equal(f.lab.process(peer.pid)?.exitCode, null, 'the peer died')
    const grown = (await rss(peer.metrics)) - before
    assert.ok(grown < 256 * 1024 * 1024, `peer RSS grew by ${grown} bytes`)
    const out = await getVia(peer, f.url('f.bin'), join(f.dir, 'after-piece-fuzz.bin'))
    assert.equal(out.ok, true, JSON.stringify(out))
    assert.equal(await sha256File(join(f.dir, 'after-piece-fuzz.bin')), f.sha['f.bin'])
  })

  it('should close every garbage scheduler session and keep scheduling', async () => {
    const eps = f.lab.endpoints!
    const info = await fetchJson<any>(`${eps.scheduler.url}/api/v1/info`)
    const valid = [
      PeerMessage.encode({ register: { addrs: ['/ip4/127.0.0.1/tcp/1'], pool: 'p', idc: '', hostname: 'h', seed: true, uploadSlots: 4, token: 'nope', tasks: [] } }),
      PeerMessage.encode({ announce: { taskId: 'ab'.repeat(32), url: 'http://127.0.0.1:9/x', headers: [], pieceLength: 0, digest: '', ...NO_TASK_KEY_PARTS } })
    ]
    await fuzzProtocol(info.addrs, info.peerId, SCHEDULER_PROTOCOL, valid, [
      Uint8Array.from([...encodeVarint(64 * 1024 * 1024), 0]),
      new Uint8Array(11).fill(0xff),
      lengthPrefixed(PeerMessage.encode({ register: { addrs: Array.from({ length: 100 }, () => '/ip4/1.2.3.4/tcp/1'), pool: '', idc: '', hostname: '', seed: false, uploadSlots: 0, token: '', tasks: [] } })).subarray()
    ])
    assert.equal(f.lab.process(eps.scheduler.pid)?.exitCode, null, 'the scheduler died')
    const peers = await fetchJson<any[]>(`${eps.scheduler.url}/api/v1/peers`)
    assert.deepEqual(peers.map((p) => p.id).sort(), [eps.peers[0].id, eps.seeds[0].id].sort(), 'garbage registered a peer')
    const out = await getVia(eps.peers[0], `${f.origin.url}/f.bin?again=1`, join(f.dir, 'after-sched-fuzz.bin'))
    assert.equal(out.ok, true, JSON.stringify(out))
    assert.equal(out.bytesFromOrigin, 0, 'the swarm still works: the seed served it')
  })
})
