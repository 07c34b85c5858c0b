import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { connect as tlsConnect } from 'node:tls'
import { connect as tcpConnect } from 'node:net'
import { once } from 'node:events'
import { PieceStore, type TaskStore } from '@damselfly/storage'
import { createNode, listenAddrs } from '@damselfly/task-engine'
import { PieceServer, PieceClient, DATA_PROTOCOL, type DataChannelMode, type Transport } from '@damselfly/piece-exchange'
import { DataHello, DataTicket, PieceRequest } from '@damselfly/proto'
import { initBlake3, blake3, silentLogger, FrameReader, lengthPrefixed } from '@damselfly/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'

const TASK = 'da'.repeat(32)
// odd sizes, so piece bodies never line up with socket reads or TLS records
const PIECE = 1024 * 1024 + 4099

/**
 * Data channels: pieces travel over a TLS (or, when both sides allow it,
 * plain TCP) socket opened with a one-time ticket fetched over libp2p.
 * Every piece is compared byte for byte, so a body read into the wrong
 * buffer, or a fallback that loses a request, fails here.
 */
describe('data channels carry pieces beside libp2p', function () {
  this.timeout(60_000)
  let dir: string
  let ts: TaskStore
  let store: PieceStore
  const content = randomBytes(PIECE * 12 + 777)
  const pieceCount = Math.ceil(content.byteLength / PIECE)
  const piece = (i: number): Buffer => content.subarray(i * PIECE, Math.min(content.byteLength, (i + 1) * PIECE))
  const nodes: Libp2p[] = []
  const stops: Array<() => Promise<void>> = []

  before(async () => {
    await initBlake3()
    dir = await mkdtemp(join(tmpdir(), 'dfly-data-'))
    store = new PieceStore({ dataDir: dir })
    await store.start()
    ts = await store.open(TASK, 'http://o/x')
    await ts.initialise(content.byteLength, PIECE)
    // the last piece is missing: the parent answers NOT_FOUND for it
    for (let i = 0; i < pieceCount - 1; i++) await ts.writePiece(i, piece(i), blake3(piece(i)))
  })

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop()
    await Promise.all(nodes.splice(0).map(async (n) => { await n.stop() }))
  })

  after(async () => {
    await store?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  /** a parent and a child on their own libp2p nodes; the parent in `parentPool` (the child is in pool 'default') */
  async function pair (serverMode: DataChannelMode, clientMode: DataChannelMode, parentPool = 'default'): Promise<{ server: PieceServer, client: PieceClient, parent: { peerId: string, addrs: string[], pool: string }, uploads: Record<Transport, number>, node: Libp2p }> {
    const a = await createNode({})
    const b = await createNode({})
    nodes.push(a, b)
    await Promise.all([a.start(), b.start()])
    const uploads: Record<Transport, number> = { libp2p: 0, tls: 0, tcp: 0 }
    const server = new PieceServer(a, {
      log: silentLogger(),
      lookup: async (id) => id === TASK ? ts : undefined,
      onUpload: (_t, _p, bytes, transport) => { uploads[transport] += bytes },
      dataChannel: serverMode === 'off' ? undefined : { mode: serverMode }
    })
    await server.start()
    const client = new PieceClient(b, { log: silentLogger(), dataChannel: clientMode })
    stops.push(async () => { await server.stop() }, async () => { await client.stop() })
    return { server, client, parent: { peerId: a.peerId.toString(), addrs: listenAddrs(a), pool: parentPool }, uploads, node: b }
  }

  /** every present piece, pipelined, then the missing one */
  async function fetchAll (client: PieceClient, parent: { peerId: string, addrs: string[] }): Promise<void> {
    const got = await Promise.all(Array.from({ length: pieceCount - 1 }, async (_, i) => await client.fetch(parent, TASK, i, piece(i).byteLength)))
    got.forEach((buf, i) => { assert.ok(Buffer.from(buf).equals(piece(i)), `piece ${i} differs`) })
    const last = pieceCount - 1
    await assert.rejects(client.fetch(parent, TASK, last, piece(last).byteLength), /has no piece/)
    // the link is still good after an answer without a body
    const again = await client.fetch(parent, TASK, 3, piece(3).byteLength)
    assert.ok(Buffer.from(again).equals(piece(3)))
  }

  const present = PIECE * (pieceCount - 1) + PIECE

  it('should carry every piece over TLS when both sides use it', async () => {
    const { client, parent, uploads, server } = await pair('tls', 'tls')
    assert.ok(server.dataPort != null && server.dataPort > 0)
    await fetchAll(client, parent)
    assert.deepEqual(uploads, { libp2p: 0, tls: present, tcp: 0 })
  })

  it('should carry every piece over plain TCP only when both sides allow it and share a node pool', async () => {
    const { client, parent, uploads } = await pair('tcp', 'tcp')
    await fetchAll(client, parent)
    assert.deepEqual(uploads, { libp2p: 0, tls: 0, tcp: present })
  })

  it('should carry pieces between node pools over TLS even when both sides allow plain TCP', async () => {
    const { client, parent, uploads } = await pair('tcp', 'tcp', 'another-pool')
    await fetchAll(client, parent)
    assert.deepEqual(uploads, { libp2p: 0, tls: present, tcp: 0 })
  })

  it('should keep opening a data channel for the fetches still waiting when the ones that asked first are cancelled', async () => {
    const { client, parent, uploads } = await pair('tcp', 'tcp')
    // endgame losers: the first fetch opens the parent's channel, the second re-opens it after the
    // first is cancelled, and is cancelled in turn; the third wants its piece all along
    const first = new AbortController()
    const second = new AbortController()
    const settled = Promise.allSettled([first, second, undefined].map(async (c, i) => await client.fetch(parent, TASK, i, piece(i).byteLength, c?.signal)))
    first.abort()
    await new Promise((resolve) => setImmediate(resolve))
    second.abort()
    const [a, b, c] = await settled
    assert.equal(a.status, 'rejected')
    assert.equal(b.status, 'rejected')
    assert.ok(c.status === 'fulfilled' && Buffer.from(c.value).equals(piece(2)), `third fetch: ${c.status === 'rejected' ? String(c.reason) : 'wrong bytes'}`)
    // ...over the data channel, not libp2p streams (a cancelled opener used to fail every fetch waiting on it)
    assert.deepEqual(uploads, { libp2p: 0, tls: 0, tcp: piece(2).byteLength })
  })

  it('should use TLS with a client that allows plain TCP when the parent offers TLS', async () => {
    const { client, parent, uploads } = await pair('tls', 'tcp')
    await fetchAll(client, parent)
    assert.deepEqual(uploads, { libp2p: 0, tls: present, tcp: 0 })
  })

  it('should use TLS from a parent that also allows plain TCP when the child wants TLS', async () => {
    const { client, parent, uploads } = await pair('tcp', 'tls')
    await fetchAll(client, parent)
    assert.deepEqual(uploads, { libp2p: 0, tls: present, tcp: 0 })
  })

  it('should fetch over libp2p from a parent without data channels', async () => {
    const { client, parent, uploads } = await pair('off', 'tls')
    await fetchAll(client, parent)
    assert.deepEqual(uploads, { libp2p: present, tls: 0, tcp: 0 })
  })

  /** a ticket exactly as a client gets one: over the Noise-authenticated libp2p connection */
  async function ticketFrom (node: Libp2p, parent: { peerId: string, addrs: string[] }): Promise<DataTicket> {
    const stream = await node.dialProtocol(parent.addrs.map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${parent.peerId}`)), DATA_PROTOCOL)
    const frame = await new FrameReader(stream, 1024).readFrame(1024)
    assert.ok(frame != null)
    return DataTicket.decode(frame)
  }

  /** opens a TLS data channel with `ticket` and asks for piece 0: resolves with the bytes received, rejects when refused */
  async function tlsFetch (ticket: DataTicket, child: string, key = ticket.key): Promise<number> {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: ticket.port,
      ciphers: 'PSK-AES128-GCM-SHA256',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ psk: Buffer.from(key), identity: `${Buffer.from(ticket.id).toString('hex')}.${ticket.expires}.${child}` })
    })
    try {
      await once(socket, 'secureConnect')
      socket.write(lengthPrefixed(PieceRequest.encode({ taskId: TASK, index: 0 })).subarray())
      let got = 0
      socket.on('data', (d: Buffer) => { got += d.byteLength; if (got > PIECE) socket.end() })
      await once(socket, 'close')
      return got
    } finally {
      socket.destroy()
    }
  }

  it('should accept a ticket once, only from the child it was made for, and refuse a replayed ticket and a wrong key', async () => {
    const { parent, node } = await pair('tls', 'tls')
    const me = node.peerId.toString()
    const ticket = await ticketFrom(node, parent)
    assert.equal(ticket.tls, true)
    assert.ok(ticket.expires > Date.now())
    assert.ok(await tlsFetch(ticket, me) > PIECE, 'a fresh ticket gets piece 0')
    await assert.rejects(tlsFetch(ticket, me), 'a ticket is single-use')
    const other = await ticketFrom(node, parent)
    await assert.rejects(tlsFetch(other, me, randomBytes(32)), 'a wrong key fails the handshake')
    // someone else presenting the ticket as theirs: the key is bound to the child it was made for
    await assert.rejects(tlsFetch(other, parent.peerId), 'a ticket made for another child fails')
    await assert.rejects(tlsFetch({ ...other, expires: other.expires + 1 }, me), 'a ticket claiming another expiry fails')
    // failed tries do not use a ticket up: only who holds its key can, so nobody can burn another's
    assert.ok(await tlsFetch(other, me) > PIECE)
  })

  it('should close a plain TCP channel opened with a made-up ticket without sending a byte', async () => {
    const { parent, node } = await pair('tcp', 'tcp')
    const ticket = await ticketFrom(node, parent)
    assert.equal(ticket.tls, false)
    const socket = tcpConnect({ host: '127.0.0.1', port: ticket.port })
    await once(socket, 'connect')
    const hello = DataHello.encode({ id: ticket.id, expires: ticket.expires, child: node.peerId.toString(), key: randomBytes(32) as Uint8Array<ArrayBuffer> })
    socket.write(Buffer.concat([lengthPrefixed(hello).subarray(), lengthPrefixed(PieceRequest.encode({ taskId: TASK, index: 0 })).subarray()]))
    let got = 0
    socket.on('data', (d: Buffer) => { got += d.byteLength })
    socket.on('error', () => {})
    await once(socket, 'close')
    assert.equal(got, 0)
  })

  it('should fail pending fetches at once when the parent goes away mid-transfer', async () => {
    const { client, parent, server } = await pair('tls', 'tls')
    await client.fetch(parent, TASK, 0, piece(0).byteLength)
    const pending = Array.from({ length: 8 }, async (_, i) => await client.fetch(parent, TASK, i % (pieceCount - 1), piece(0).byteLength))
    const t0 = Date.now()
    await server.stop()
    const results = await Promise.allSettled(pending)
    // some may have arrived before the stop; the rest fail promptly instead of waiting for a timeout
    assert.ok(Date.now() - t0 < 5000)
    for (const r of results) if (r.status === 'fulfilled') assert.equal(r.value.byteLength, piece(0).byteLength)
  })
})
