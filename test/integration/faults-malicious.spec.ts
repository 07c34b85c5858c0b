import assert from 'node:assert/strict'
import { join } from 'node:path'
import { sha256File } from '@damselfly/testkit'
import { taskIdFor } from '@damselfly/utils'
import { getVia } from '@damselfly/cli'
import { fetchJson } from '@damselfly/testkit'
import { RoguePeer, type RogueMode } from '../helpers/rogue-peer.js'
import { waitFor } from '../helpers/faults.js'
import { withLab } from '../helpers/fixtures.js'

const MiB = 1024 * 1024
const SIZE = 16 * MiB + 99
const PL = MiB
const TOKEN = 'malicious-test-token'

describe('faults: malicious peers in the swarm', function () {
  this.timeout(120_000)
  // one file per test (one task each); slow enough that the rogue is in every plan long before the seed has everything
  const f = withLab({
    name: 'malicious',
    files: { 'corrupt.bin': SIZE, 'liar.bin': SIZE, 'slow.bin': SIZE },
    origin: { rateBytesPerSec: 4 * MiB },
    lab: { peers: 2, token: TOKEN, peerArgs: ['--piece-timeout', '2000', '--stall-timeout', '30000'] }
  })
  let rogue: RoguePeer | undefined

  afterEach(async () => {
    await rogue?.stop().catch(() => {})
    rogue = undefined
  })

  /**
   * Both lab peers download one task while a rogue of `mode` claims every piece the seed has
   * published; resolves once both are done and checked, with the rogue for its own assertions.
   */
  async function downloadBeside (mode: RogueMode): Promise<{ rogue: RoguePeer, taskId: string, mismatches: number }> {
    const eps = f.lab.endpoints!
    const url = f.url(`${mode}.bin`)
    const taskId = taskIdFor({ url, pieceLength: PL })
    rogue = new RoguePeer({ schedulerUrl: eps.scheduler.url, token: TOKEN, mode })
    await rogue.start()
    await rogue.connect()
    const r = rogue
    const gets = eps.peers.map((p, i) => getVia(p, url, join(f.dir, `${mode}-${i}.bin`), ['--piece-length', String(PL)]))
    const task = await waitFor('the task geometry', async () => {
      const t = await fetchJson<any>(`${eps.scheduler.url}/api/v1/tasks/${taskId}`).catch(() => undefined)
      return t?.contentLength > 0 ? t : undefined
    }, 30_000, 20)
    r.geometry = { contentLength: task.contentLength, pieceLength: task.pieceLength }
    // the scheduler counts a claimed piece only once the seed's manifest has it: keep claiming as it grows
    const claim = (): void => { r.claimAll(taskId, task.pieceCount) }
    claim()
    const claiming = setInterval(claim, 100)
    const results = await Promise.all(gets).finally(() => { clearInterval(claiming) })
    for (let i = 0; i < results.length; i++) {
      assert.equal(results[i].ok, true, JSON.stringify(results[i]))
      assert.equal(await sha256File(join(f.dir, `${mode}-${i}.bin`)), f.sha[`${mode}.bin`], `peer ${i} wrote wrong bytes`)
    }
    // the rogue was really tried, or the test proves nothing
    assert.ok(r.requests.length > 0, `${mode} rogue was never asked for a piece`)
    // reported to the scheduler, which counts it against the rogue
    const peers = await fetchJson<any[]>(`${eps.scheduler.url}/api/v1/peers`)
    assert.ok(peers.find((p) => p.id === r.peerId)?.failures > 0, `${mode} rogue was never reported`)
    const mismatches = results.reduce((a, x: any) => a + (x.digestMismatches ?? 0), 0)
    return { rogue: r, taskId, mismatches }
  }

  const perRequester = (r: RoguePeer): number => r.requests.length / Math.max(1, r.requesters.size)

  it('should reject a corrupt piece, fetch it elsewhere, and stop asking the peer that sent it', async () => {
    const { rogue: r, taskId, mismatches } = await downloadBeside('corrupt')
    assert.ok(mismatches >= 1, 'no corrupt piece was caught')
    // excluded after the first bad answer: only what was already pipelined (4 per stream)
    assert.ok(perRequester(r) <= 4, `corrupt rogue served ${r.requests.length} pieces to ${r.requesters.size} peers`)
    const task = await fetchJson<any>(`${f.lab.endpoints!.scheduler.url}/api/v1/tasks/${taskId}`)
    if (r.requesters.size >= 2) assert.ok(task.blocked.includes(r.peerId), 'a peer two children caught corrupting is blocked for the task')
  })

  it('should stop asking a peer that claims pieces it does not have', async () => {
    const { rogue: r } = await downloadBeside('liar')
    assert.ok(perRequester(r) <= 8, `liar was asked ${r.requests.length} times by ${r.requesters.size} peers`)
  })

  it('should time out a peer that never sends, and finish from others', async () => {
    const { rogue: r } = await downloadBeside('slow')
    assert.ok(perRequester(r) <= 8, `slow rogue was asked ${r.requests.length} times by ${r.requesters.size} peers`)
  })
})
