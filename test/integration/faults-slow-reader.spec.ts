import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { startOrigin, writeRandomFile, type Origin } from '@damselfly/testkit'
import { startLab, type Lab } from '@damselfly/cli'
import { PIECE_PROTOCOL } from '@damselfly/piece-exchange'
import { PieceRequest } from '@damselfly/proto'
import { lengthPrefixed } from '@damselfly/utils'
import { getVia } from '@damselfly/cli'
import { fetchJson } from '@damselfly/testkit'
import { keepLogsOnFailure } from '../helpers/faults.js'
import { RoguePeer } from '../helpers/rogue-peer.js'
import type { Libp2p, Stream } from '@libp2p/interface'

const MiB = 1024 * 1024
const IDLE_MS = 1500
const TOKEN = 'slow-reader-cluster-token'

describe('faults: slow readers on the upload side', function () {
  this.timeout(90_000)
  let dir: string
  let origin: Origin
  let lab: Lab
  let node: Libp2p
  let rogue: RoguePeer

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfly-slow-reader-'))
    await writeRandomFile(join(dir, 'blob.bin'), 24 * MiB)
    origin = await startOrigin({ files: { '/blob.bin': join(dir, 'blob.bin') } })
    lab = await startLab({ peers: 2, token: TOKEN, peerArgs: ['--upload-idle-timeout', String(IDLE_MS), '--upload-slots', '2'], dataDir: join(dir, 'lab') })
    // a member of the swarm, as any peer: registered, and granted the task once it announces it
    rogue = new RoguePeer({ schedulerUrl: lab.endpoints!.scheduler.url, token: TOKEN })
    await rogue.start()
    await rogue.connect()
    node = rogue.node
  })

  afterEach(async function () { await keepLogsOnFailure(this, lab?.endpoints?.logs) })

  after(async () => {
    await rogue?.stop()
    await lab?.stop()
    await origin?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('should drop upload streams whose reader stops taking bytes, freeing the slots', async () => {
    const eps = lab.endpoints!
    const url = `${origin.url}/blob.bin`
    const r = await getVia(eps.peers[0], url, join(dir, 'first.bin'))
    assert.equal(r.ok, true, JSON.stringify(r))
    const info = await fetchJson<any>(`${eps.peers[0].api}/api/v1/info`)
    const addrs = (info.addrs as string[]).map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${info.id}`))
    // parents serve only holders of the scheduler's grant for the task: join it as a downloader would
    const { taskId, grant } = await rogue.join(url)

    // take every upload slot and never read: far more than the stream window is asked for
    const streams: Stream[] = []
    for (let i = 0; i < 2; i++) {
      const s = await node.dialProtocol(addrs, PIECE_PROTOCOL)
      s.pause()
      for (let p = 0; p < 6; p++) s.send(lengthPrefixed(PieceRequest.encode({ taskId, index: p % 6, grant })))
      streams.push(s)
    }
    const started = Date.now()
    const closedAt = await Promise.all(streams.map(async (s) => await new Promise<number>((resolve) => {
      if (s.status !== 'open') { resolve(Date.now()); return }
      s.addEventListener('close', () => resolve(Date.now()), { once: true })
    })))
    for (const t of closedAt) assert.ok(t - started < IDLE_MS + 4000, `a stalled upload held its slot for ${t - started} ms`)
    // the slots are free again: a well-behaved request is served
    const s = await node.dialProtocol(addrs, PIECE_PROTOCOL)
    const got = new Promise<number>((resolve) => { let n = 0; s.addEventListener('message', (e) => { n += e.data.byteLength; if (n > 4 * MiB) resolve(n) }) })
    s.send(lengthPrefixed(PieceRequest.encode({ taskId, index: 0, grant })))
    assert.ok(await Promise.race([got, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 10_000))]) > 4 * MiB, 'the freed slot did not serve a piece')
    s.abort(new Error('done'))
    // and other peers were never starved meanwhile
    const other = await getVia(eps.peers[1], url, join(dir, 'second.bin'))
    assert.equal(other.ok, true, JSON.stringify(other))
  })
})
