import assert from 'node:assert/strict'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { PIECE_PROTOCOL } from '@damselfly/piece-exchange'
import { PieceRequest } from '@damselfly/proto'
import { lengthPrefixed } from '@damselfly/utils'
import { getVia } from '@damselfly/cli'
import { fetchJson } from '@damselfly/testkit'
import { waitFor } from '@damselfly/testkit'
import { withLab } from '../helpers/fixtures.js'
import { RoguePeer } from '../helpers/rogue-peer.js'
import type { Libp2p, Stream } from '@libp2p/interface'

const MiB = 1024 * 1024
const IDLE_MS = 1500
const TOKEN = 'slow-reader-cluster-token'

describe('faults: slow readers on the upload side', function () {
  this.timeout(90_000)
  let node: Libp2p
  let rogue: RoguePeer
  const f = withLab({
    name: 'slow-reader',
    files: { 'blob.bin': 24 * MiB },
    lab: { peers: 2, token: TOKEN, peerArgs: ['--upload-idle-timeout', String(IDLE_MS), '--upload-slots', '2'] }
  })

  before(async () => {
    // a member of the swarm, as any peer: registered, and granted the task once it announces it
    rogue = new RoguePeer({ schedulerUrl: f.lab.endpoints!.scheduler.url, token: TOKEN })
    await rogue.start()
    await rogue.connect()
    node = rogue.node
  })

  after(async () => { await rogue?.stop() })

  it('should drop upload streams whose reader stops taking bytes, freeing the slots', async () => {
    const eps = f.lab.endpoints!
    const url = f.url('blob.bin')
    const r = await getVia(eps.peers[0], url, join(f.dir, 'first.bin'))
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
    let got = 0
    s.addEventListener('message', (e) => { got += e.data.byteLength })
    s.send(lengthPrefixed(PieceRequest.encode({ taskId, index: 0, grant })))
    await waitFor('the freed slot to serve a piece', () => got > 4 * MiB, 10_000)
    s.abort(new Error('done'))
    // and other peers were never starved meanwhile
    const other = await getVia(eps.peers[1], url, join(f.dir, 'second.bin'))
    assert.equal(other.ok, true, JSON.stringify(other))
  })
})
