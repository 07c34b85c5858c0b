import assert from 'node:assert/strict'
import { PeerMessage, SchedulerMessage, PieceRequest, PieceResponse, PieceStatus, FailureKind, DataTicket, NO_TASK_KEY_PARTS } from '@damselfly/proto'
import { decodeTicket } from '@damselfly/piece-exchange'
import { DECODE_LIMITS } from '@damselfly/scheduler'
import { Swarm } from '@damselfly/scheduler-core'
import { prng, mutate } from '../helpers/prng.js'

const SEED = 0xd15e1f
const ITERATIONS = 20_000

/** Decodes must either return a message or throw an Error: never hang, crash the process or blow up memory. */
function fuzz (name: string, valid: Uint8Array[], decode: (b: Uint8Array) => unknown, check: (m: any) => void = () => {}): { ok: number, rejected: number } {
  const r = prng(SEED)
  let ok = 0
  let rejected = 0
  for (let i = 0; i < ITERATIONS; i++) {
    const input = mutate(r, valid)
    let msg: unknown
    try { msg = decode(input) } catch (err) {
      assert.ok(err instanceof Error, `${name}: iteration ${i} threw a non-Error`)
      rejected++
      continue
    }
    ok++
    check(msg)
  }
  return { ok, rejected }
}

describe('fuzzing the wire decoders (seed 0xd15e1f)', function () {
  this.timeout(120_000)
  const heapBefore = process.memoryUsage().heapUsed
  const digest = new Uint8Array(32).fill(9)

  it('should survive garbage fed to PieceRequest and PieceResponse', () => {
    const req = fuzz('PieceRequest', [PieceRequest.encode({ taskId: 'ab'.repeat(32), index: 7 })], (b) => PieceRequest.decode(b))
    const res = fuzz('PieceResponse', [PieceResponse.encode({ index: 3, status: PieceStatus.OK, length: 4 << 20 })], (b) => PieceResponse.decode(b))
    assert.ok(req.rejected > 0 && req.ok > 0 && res.rejected > 0 && res.ok > 0, 'the corpus exercised both paths')
  })

  it('should turn garbage data tickets into errors, never into a socket to a made-up port', () => {
    const valid = [DataTicket.encode({ port: 65004, id: new Uint8Array(16).fill(1), key: new Uint8Array(32).fill(2), tls: true })]
    const { ok, rejected } = fuzz('DataTicket', valid, (b) => decodeTicket(b), (t) => {
      assert.equal(t.id.byteLength, 16)
      assert.equal(t.key.byteLength, 32)
      assert.ok(t.port > 0 && t.port <= 65535)
    })
    assert.ok(ok > 0 && rejected > 0, 'the corpus exercised both paths')
  })

  it('should survive garbage fed to PeerMessage with the scheduler limits, and keep repeated fields bounded', () => {
    const valid = [
      PeerMessage.encode({ register: { addrs: ['/ip4/127.0.0.1/tcp/1'], pool: 'p', idc: '', hostname: 'h', seed: false, uploadSlots: 4, token: 't', tasks: [{ taskId: 'ab', have: new Uint8Array([255]), done: false, meta: { taskId: 'ab', contentLength: 10, pieceLength: 4, url: 'http://x' } }] } }),
      PeerMessage.encode({ announce: { taskId: 'ab', url: 'http://x', headers: [{ name: 'a', value: 'b' }], pieceLength: 0, digest: '', ...NO_TASK_KEY_PARTS } }),
      PeerMessage.encode({ pieces: { taskId: 'ab', indexes: [1, 2, 3], digests: [{ index: 1, digest }], parentId: 'p', costMs: 3 } }),
      PeerMessage.encode({ failure: { taskId: 'ab', parentId: 'p', index: 1, kind: FailureKind.DIGEST_MISMATCH, message: 'm' } })
    ]
    const { rejected } = fuzz('PeerMessage', valid, (b) => PeerMessage.decode(b, DECODE_LIMITS), (m) => {
      assert.ok((m.register?.addrs.length ?? 0) <= 16)
      assert.ok((m.register?.tasks.length ?? 0) <= 4096)
      assert.ok((m.announce?.headers.length ?? 0) <= 64)
      assert.ok((m.pieces?.indexes.length ?? 0) <= 65536)
    })
    assert.ok(rejected > 0)
  })

  it('should survive garbage fed to SchedulerMessage', () => {
    const valid = [
      SchedulerMessage.encode({ registered: { schedulerId: 's', error: '' } }),
      SchedulerMessage.encode({ update: { taskId: 'ab', contentLength: 100, pieceLength: 4, digests: [{ index: 0, digest }], parents: [{ peerId: 'p', addrs: ['/ip4/127.0.0.1/tcp/1'], have: new Uint8Array([1]), seed: true, pool: 'x' }], backToSource: false, error: '', availability: new Uint8Array([1, 2]), crossPoolRate: 0 } }),
      SchedulerMessage.encode({ seed: { taskId: 'ab', url: 'http://x', headers: [], pieceLength: 0, digest: '', ...NO_TASK_KEY_PARTS } })
    ]
    const { rejected } = fuzz('SchedulerMessage', valid, (b) => SchedulerMessage.decode(b, { limits: { update: { parents: 1024, digests: 1 << 20 } } } as any))
    assert.ok(rejected > 0)
  })

  it('should keep the scheduler consistent when decoded garbage reaches it', () => {
    // whatever decodes is handed to the real scheduling logic, as the service would
    const swarm = new Swarm({ setTimer: () => undefined })
    const r = prng(SEED + 1)
    const valid = [
      PeerMessage.encode({ announce: { taskId: 'ab'.repeat(32), url: 'http://x', headers: [], pieceLength: 0, digest: '', ...NO_TASK_KEY_PARTS } }),
      PeerMessage.encode({ meta: { taskId: 'ab'.repeat(32), contentLength: 2 ** 52, pieceLength: 1, url: 'http://x' } }),
      PeerMessage.encode({ pieces: { taskId: 'ab'.repeat(32), indexes: [0, 4294967295], digests: [{ index: 0, digest }], parentId: 'nobody', costMs: 4294967295 } }),
      PeerMessage.encode({ failure: { taskId: 'ab'.repeat(32), parentId: 'x', index: 1, kind: FailureKind.DIGEST_MISMATCH, message: 'm' } })
    ]
    swarm.register('seed', { addrs: [], pool: 'c', idc: '', hostname: '', seed: true, uploadSlots: 1, token: '', tasks: [] }, () => {})
    swarm.register('peer', { addrs: [], pool: 'p', idc: '', hostname: '', seed: false, uploadSlots: 0, token: '', tasks: [] }, () => {})
    for (let i = 0; i < ITERATIONS; i++) {
      let msg
      try { msg = PeerMessage.decode(mutate(r, valid), DECODE_LIMITS) } catch { continue }
      swarm.handle(i % 2 === 0 ? 'seed' : 'peer', msg)
      swarm.flush()
    }
    for (const t of swarm.tasks.values()) assert.ok(t.pieceCount <= 1 << 22, `task ${t.id} claims ${t.pieceCount} pieces`)
  })

  after(() => {
    const grown = process.memoryUsage().heapUsed - heapBefore
    assert.ok(grown < 256 * 1024 * 1024, `heap grew by ${grown} bytes`)
  })
})
