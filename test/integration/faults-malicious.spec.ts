import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOrigin, writeRandomFile, sha256File, type Origin } from '@damselfly/testkit'
import { startLab, type Lab } from '@damselfly/cli'
import { taskIdFor } from '@damselfly/utils'
import { getVia } from '@damselfly/cli'
import { fetchJson } from '@damselfly/testkit'
import { RoguePeer, type RogueMode } from '../helpers/rogue-peer.js'
import { waitFor, keepLogsOnFailure } from '../helpers/faults.js'

const MiB = 1024 * 1024
const SIZE = 16 * MiB + 99
const PL = MiB
const TOKEN = 'malicious-test-token'

describe('faults: malicious peers in the swarm', function () {
  this.timeout(120_000)
  let dir: string
  let origin: Origin
  let lab: Lab
  const rogues: RoguePeer[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfly-malicious-'))
    await writeRandomFile(join(dir, 'blob.bin'), SIZE)
    // slow enough that the rogues are in every plan long before the seed has everything
    origin = await startOrigin({ files: { '/blob.bin': join(dir, 'blob.bin') }, rateBytesPerSec: 4 * MiB })
    lab = await startLab({ peers: 2, token: TOKEN, peerArgs: ['--piece-timeout', '2000', '--stall-timeout', '30000'], dataDir: join(dir, 'lab') })
  })

  afterEach(async function () { await keepLogsOnFailure(this, lab?.endpoints?.logs) })

  after(async () => {
    for (const r of rogues) await r.stop().catch(() => {})
    await lab?.stop()
    await origin?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('should catch corrupt pieces, lies and stalls, report and exclude those peers, and finish correctly', async () => {
    const eps = lab.endpoints!
    const url = `${origin.url}/blob.bin`
    const taskId = taskIdFor({ url, pieceLength: PL })
    for (const mode of ['corrupt', 'liar', 'slow'] as RogueMode[]) {
      const r = new RoguePeer({ schedulerUrl: eps.scheduler.url, token: TOKEN, mode })
      await r.start()
      await r.connect()
      rogues.push(r)
    }
    const gets = eps.peers.map((p, i) => getVia(p.api, url, join(dir, `out-${i}.bin`), ['--piece-length', String(PL)]))
    const task = await waitFor('the task geometry', async () => {
      const t = await fetchJson<any>(`${eps.scheduler.url}/api/v1/tasks/${taskId}`).catch(() => undefined)
      return t?.contentLength > 0 ? t : undefined
    }, 30_000, 20)
    for (const r of rogues) r.geometry = { contentLength: task.contentLength, pieceLength: task.pieceLength }
    // the scheduler counts a claimed piece only once the seed's manifest has it: keep claiming as it grows
    const claim = (): void => { for (const r of rogues) r.claimAll(taskId, task.pieceCount) }
    claim()
    const claiming = setInterval(claim, 100)
    const results = await Promise.all(gets).finally(() => { clearInterval(claiming) })
    const want = await sha256File(join(dir, 'blob.bin'))
    for (let i = 0; i < results.length; i++) {
      assert.equal(results[i].ok, true, JSON.stringify(results[i]))
      assert.equal(await sha256File(join(dir, `out-${i}.bin`)), want, `peer ${i} wrote wrong bytes`)
    }
    const [corrupt, liar, slow] = rogues
    // every rogue was really tried, or the test proves nothing
    for (const r of rogues) assert.ok(r.requests.length > 0, `${r.init.mode} rogue was never asked for a piece`)
    const mismatches = results.reduce((a, r: any) => a + (r.digestMismatches ?? 0), 0)
    assert.ok(mismatches >= 1, 'no corrupt piece was caught')
    // excluded after the first bad answers: only what was already pipelined (4 per stream) plus a few retries
    const perRequester = (r: RoguePeer): number => r.requests.length / Math.max(1, r.requesters.size)
    assert.ok(perRequester(corrupt) <= 4, `corrupt rogue served ${corrupt.requests.length} pieces to ${corrupt.requesters.size} peers`)
    assert.ok(perRequester(liar) <= 8, `liar was asked ${liar.requests.length} times by ${liar.requesters.size} peers`)
    assert.ok(perRequester(slow) <= 8, `slow rogue was asked ${slow.requests.length} times by ${slow.requesters.size} peers`)
    // reported to the scheduler, which counts it against them and blocks repeat offenders for the task
    const peers = await fetchJson<any[]>(`${eps.scheduler.url}/api/v1/peers`)
    for (const r of rogues) assert.ok(peers.find((p) => p.id === r.peerId)?.failures > 0, `${r.init.mode} rogue was never reported`)
    const after = await fetchJson<any>(`${eps.scheduler.url}/api/v1/tasks/${taskId}`)
    if (corrupt.requesters.size >= 2) assert.ok(after.blocked.includes(corrupt.peerId), 'a peer two children caught corrupting is blocked for the task')
  })
})
