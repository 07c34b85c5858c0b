import assert from 'node:assert/strict'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fetchJson, sha256File } from '@damselfly/testkit'
import { getVia } from '@damselfly/cli'
import { PieceClient, type DataChannelMode, type Transport } from '@damselfly/piece-exchange'
import { silentLogger } from '@damselfly/utils'
import { withLab, uploadedByTransport } from '../helpers/fixtures.js'
import { RoguePeer } from '../helpers/rogue-peer.js'

const MiB = 1024 * 1024
const SIZE = 12 * MiB + 4321
const GET_ARGS = ['--piece-length', String(MiB)]
const TOKEN = `link-${randomBytes(8).toString('hex')}`
const TRANSPORTS: Transport[] = ['libp2p', 'tcp', 'tls']

/**
 * What every way of moving pieces between daemons owes the download, written once and run
 * against each (`--data-channel off`: libp2p streams; `tcp`; `tls`): separate daemon processes
 * pass a whole file between them over exactly that link, every byte verified, and a piece whose
 * answer does not have the length asked for is refused on that link.
 */
function pieceLinkCompliance (mode: DataChannelMode, transport: Transport): void {
  describe(`piece link compliance: ${transport} (--data-channel ${mode})`, function () {
    this.timeout(180_000)
    // the seed joins the peers' node pool: plain TCP is offered only inside a pool (between pools it is TLS)
    const args = ['--data-channel', mode]
    const f = withLab({ name: `link-${mode}`, files: { 'blob.bin': SIZE }, lab: { peers: 2, token: TOKEN, peerArgs: args, seedArgs: [...args, '--pool', 'default'] } })
    let member: RoguePeer | undefined
    after(async () => { await member?.stop() })

    it(`should carry a whole file from daemon to daemon over ${transport} only, every byte verified`, async () => {
      const [a, b] = f.lab.endpoints!.peers
      const first = await getVia(a, f.url('blob.bin'), join(f.dir, 'a.bin'), GET_ARGS)
      assert.equal(first.ok, true, JSON.stringify(first))
      // b's pieces come from a and the seed, both holding the whole file by now
      const second = await getVia(b, f.url('blob.bin'), join(f.dir, 'b.bin'), GET_ARGS)
      assert.equal(second.ok, true, JSON.stringify(second))
      assert.equal(second.bytesFromOrigin, 0, 'the second peer went to the origin')
      assert.ok(second.bytesFromPeers + second.bytesFromSeed >= SIZE)
      for (const out of ['a.bin', 'b.bin']) assert.equal(await sha256File(join(f.dir, out)), f.sha['blob.bin'], `${out} differs from the origin's bytes`)
      const sum = await uploadedByTransport(f.lab)
      // both downloads' pieces left the seed or a peer over this link, none over another
      assert.ok(sum(transport) >= 2 * SIZE, `${transport} carried ${sum(transport)} bytes`)
      for (const other of TRANSPORTS.filter((t) => t !== transport)) assert.equal(sum(other), 0, `${other} carried piece bytes`)
    })

    it(`should refuse a piece answer of another length than asked for over ${transport}`, async () => {
      const eps = f.lab.endpoints!
      const parent = eps.peers[0]
      // a member of the swarm, granted the task as any downloader, fetching from a daemon process
      member = new RoguePeer({ schedulerUrl: eps.scheduler.url, token: TOKEN, pool: parent.pool })
      await member.start()
      await member.connect()
      const { taskId, grant } = await member.join(f.url('blob.bin'), MiB)
      const info = await fetchJson<{ addrs: string[] }>(`${parent.api}/api/v1/info`)
      const client = new PieceClient(member.node, { log: silentLogger(), dataChannel: mode, pool: parent.pool })
      try {
        const to = { peerId: parent.id, addrs: info.addrs, pool: parent.pool }
        const via: { transport?: Transport } = {}
        const piece = await client.fetch(to, taskId, 0, MiB, undefined, grant, via)
        assert.equal(via.transport, transport)
        assert.ok(Buffer.from(piece).equals(await slice(join(f.dir, 'blob.bin'), 0, MiB)), 'piece 0 differs from the origin\'s bytes')
        // the daemon sends the 1 MiB it has: the link's reader refuses what it did not ask for
        await assert.rejects(client.fetch(to, taskId, 1, MiB - 1, undefined, grant), /sent 1048576 bytes for piece 1, expected 1048575/)
      } finally {
        await client.stop()
      }
    })
  })
}

async function slice (path: string, start: number, length: number): Promise<Buffer> {
  const fh = await open(path)
  try {
    const buf = Buffer.alloc(length)
    await fh.read(buf, 0, length, start)
    return buf
  } finally {
    await fh.close()
  }
}

pieceLinkCompliance('off', 'libp2p')
pieceLinkCompliance('tcp', 'tcp')
pieceLinkCompliance('tls', 'tls')
