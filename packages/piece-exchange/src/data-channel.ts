import { createServer as createTcpServer, connect as tcpConnect, type OnReadOpts, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { DataHello, DataTicket } from '@damselfly/proto'
import { FrameReader, DirectSocketSource, lengthPrefixed, type Logger } from '@damselfly/utils'
import { makeTicket, parsePskIdentity, pskIdentity, ticketKey, ticketKeyMatches, TICKET_ID_BYTES, TICKET_KEY_BYTES, TICKET_SECRET_BYTES } from './data-ticket.js'
import { ProtocolError } from '@damselfly/types'
import { socketLink, type PieceLink } from './piece-link.js'
import { MAX_PIECE_BYTES, REQUEST_READER_BYTES } from './constants.js'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export const DATA_PROTOCOL = '/damselfly/data/1.0.0'

/**
 * How piece bytes travel between peers.
 * - `tls` (the daemons' default): a TLS 1.2 socket keyed by a one-time ticket
 *   handed out over the Noise-authenticated libp2p stream, used as a
 *   pre-shared key (AES-128-GCM, done by OpenSSL): nobody on the path reads or
 *   changes the content. It costs CPU: node hands every 16 KiB record to JS
 *   (swarm of 8 x 1 GiB on 2 cores: 22.7 CPU s and 12.1 s against 15.1 and 11.0 over tcp).
 * - `tcp`: inside a node pool (a network the operator trusts) a plain socket,
 *   opened with the same ticket; pieces are still BLAKE3-verified against the
 *   manifest (which only travels over Noise), but anyone on the path can read
 *   them, so between pools (the WAN) TLS is used all the same.
 * - `off`: pieces travel over libp2p streams only.
 */
export type DataChannelMode = 'tls' | 'tcp' | 'off'
/** what a data channel that exists runs: TLS or plain TCP */
export type DataChannelKind = Exclude<DataChannelMode, 'off'>

/**
 * TLS-PSK without certificates. The key is random per connection and is
 * only ever sent inside Noise (which has forward secrecy), so the PSK-only
 * suite loses nothing to the (EC)DHE ones, and AES-GCM runs on AES-NI:
 * 1.38 GB/s here against 0.72 GB/s for ECDHE-PSK-CHACHA20-POLY1305.
 */
const TLS_OPTIONS = { ciphers: 'PSK-AES128-GCM-SHA256', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const
/** how long a ticket the parent hands out itself is valid */
const TICKET_TTL_MS = 30_000
/** the longest validity a ticket may claim (scheduler tickets included): bounds the used-id memory */
export const MAX_TICKET_TTL_MS = 5 * 60_000
/** ids of redeemed tickets remembered at most (until they expire); past it, new channels are refused */
const MAX_USED_TICKETS = 65_536
/** past this many remembered ids, expired ones are dropped */
const SWEEP_USED_ABOVE = 1024
/** a DataHello is ~120 bytes */
const MAX_HELLO_BYTES = 512
const HANDSHAKE_TIMEOUT_MS = 10_000
const WILDCARDS = new Set(['0.0.0.0', '::', ''])

/** where a parent's data channel listens, and what children need to reach it with a ticket */
export interface DataChannelOffer {
  secret: Uint8Array
  host: string
  port: number
  plainPort: number
  tls: boolean
}

export interface DataChannelServerInit {
  mode: DataChannelKind
  /** address to listen on @default '127.0.0.1' */
  host?: string
  /** @default 0 (any free port) */
  port?: number
  /** open data sockets at most (they hold upload slots, like streams) */
  maxConnections: number
  log: Logger
  /** an authenticated socket from `peer`, ready for the piece protocol */
  onLink: (link: PieceLink, peer: string) => void
}

/**
 * The parent's side of data channels: hands out tickets over libp2p, lets
 * the scheduler make them (it holds our ticket secret), and accepts sockets
 * that present a valid one, once.
 */
export class DataChannelServer {
  /** what ticket keys derive from: never leaves this process but to the schedulers, over Noise */
  private readonly secret = randomBytes(TICKET_SECRET_BYTES)
  /** redeemed ticket ids (hex), until they expire */
  private readonly used = new Map<string, number>()
  private sweptAt = 0
  private server?: Server
  /** plain TCP listener beside the TLS one, for clients in this peer's pool (mode `tcp`) */
  private plain?: Server
  private readonly sockets = new Set<Socket>()

  constructor (private readonly node: Libp2p, private readonly init: DataChannelServerInit) {}

  get port (): number | undefined {
    const a = this.server?.address()
    return a != null && typeof a === 'object' ? a.port : undefined
  }

  get plainPort (): number | undefined {
    const a = this.plain?.address()
    return a != null && typeof a === 'object' ? a.port : undefined
  }

  /**
   * What the scheduler needs to make tickets for this data channel: at the address it listens on,
   * or, listening on every address, at `reachable` (the one address others reach us at); undefined
   * when there is none (children then ask us for tickets over libp2p, which dials what it knows)
   */
  offer (reachable?: string): DataChannelOffer | undefined {
    const listening = this.init.host ?? '127.0.0.1'
    const host = WILDCARDS.has(listening) ? reachable : listening
    if (this.port == null || host == null || WILDCARDS.has(host)) return undefined
    return { secret: this.secret, host, port: this.port, plainPort: this.plainPort ?? 0, tls: this.plain == null }
  }

  async start (): Promise<void> {
    // TLS always (clients from other pools use it); plain TCP beside it only when the operator allows it
    this.server = this.tlsServer()
    if (this.init.mode === 'tcp') this.plain = this.tcpServer()
    for (const [server, port] of [[this.server, this.init.port ?? 0], [this.plain, 0]] as const) {
      if (server == null) continue
      server.maxConnections = this.init.maxConnections
      server.on('connection', (socket: Socket) => {
        this.sockets.add(socket)
        socket.once('close', () => this.sockets.delete(socket))
      })
      server.listen(port, this.init.host ?? '127.0.0.1')
      await once(server, 'listening')
    }
    await this.node.handle(DATA_PROTOCOL, (stream, connection) => {
      this.issue(stream, connection).catch((err) => {
        this.init.log.debug({ err: err.message }, 'data ticket not sent')
        stream.abort(err)
      })
    })
  }

  async stop (): Promise<void> {
    await this.node.unhandle(DATA_PROTOCOL)
    const closed = [this.server, this.plain].map(async (server) => { if (server != null) await new Promise((resolve) => server.close(resolve)) })
    for (const s of this.sockets) s.destroy()
    await Promise.all(closed)
    this.used.clear()
  }

  /** a ticket for the peer at the other end of this Noise-authenticated connection: stateless, so asking in a loop costs us no memory */
  private async issue (stream: Stream, connection: Connection): Promise<void> {
    const t = makeTicket(this.secret, connection.remotePeer.toString(), TICKET_TTL_MS)
    stream.send(lengthPrefixed(DataTicket.encode({ port: this.port ?? 0, id: t.id, key: t.key, tls: this.plain == null, plainPort: this.plainPort ?? 0, expires: t.expires, host: '' })))
    await stream.close()
  }

  /** whether ticket (`id`, `expires`) may still be redeemed: unexpired, not too long-lived, not used */
  private redeemable (id: Uint8Array, expires: number): boolean {
    const now = Date.now()
    return expires > now && expires <= now + MAX_TICKET_TTL_MS && !this.used.has(Buffer.from(id).toString('hex'))
  }

  /** marks a ticket used; false when it was already, or when too many live ones are remembered */
  private redeem (id: Uint8Array, expires: number): boolean {
    const hex = Buffer.from(id).toString('hex')
    if (this.used.has(hex)) return false
    const now = Date.now()
    // expired ids can never be presented again: forget them, at most once a second
    if (this.used.size >= SWEEP_USED_ABOVE && now - this.sweptAt >= 1000) {
      this.sweptAt = now
      for (const [k, until] of this.used) if (until <= now) this.used.delete(k)
    }
    if (this.used.size >= MAX_USED_TICKETS) return false
    this.used.set(hex, expires)
    return true
  }

  private tlsServer (): Server {
    const pending = new WeakMap<TLSSocket, { id: Buffer, expires: number, child: string }>()
    const server = createTlsServer({
      ...TLS_OPTIONS,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // the key is derived from what the child claims: a child that claims a ticket it was not given cannot finish the handshake
      pskCallback: (socket, identity) => {
        const t = parsePskIdentity(identity)
        if (t == null || !this.redeemable(t.id, t.expires)) return null
        pending.set(socket, t)
        return ticketKey(this.secret, t.id, t.expires, t.child)
      }
    })
    server.on('secureConnection', (socket) => {
      const t = pending.get(socket)
      if (t == null || !this.redeem(t.id, t.expires)) { socket.destroy(); return }
      this.accept(socket, t.child)
    })
    server.on('tlsClientError', (err) => { this.init.log.debug({ err: err.message }, 'data channel handshake failed') })
    return server
  }

  private tcpServer (): Server {
    return createTcpServer((socket) => {
      socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => socket.destroy())
      // the hello is the first frame on the link the child's requests then come over
      const link = socketLink(socket, REQUEST_READER_BYTES)
      this.helloChild(link).then((child) => {
        if (child == null) {
          this.init.log.debug('data channel ticket refused')
          socket.destroy()
          return
        }
        socket.setTimeout(0)
        this.accept(socket, child, link)
      }, () => { socket.destroy() })
    })
  }

  /** the child a plain channel's hello names, when its ticket is ours, for it, unexpired and now redeemed */
  private async helloChild (link: PieceLink): Promise<string | undefined> {
    const frame = await link.reader.readFrame(MAX_HELLO_BYTES)
    const hello = frame == null ? undefined : decodeHello(frame.subarray())
    if (hello == null || !this.redeemable(hello.id, hello.expires) ||
      !ticketKeyMatches(this.secret, hello.id, hello.expires, hello.child, hello.key) || !this.redeem(hello.id, hello.expires)) return undefined
    return hello.child
  }

  private accept (socket: Socket, peer: string, link = socketLink(socket, REQUEST_READER_BYTES)): void {
    socket.setNoDelay(true)
    this.init.onLink(link, peer)
  }
}

function decodeHello (bytes: Uint8Array): DataHello | undefined {
  try {
    const h = DataHello.decode(bytes)
    return h.id.byteLength === TICKET_ID_BYTES && h.key.byteLength === TICKET_KEY_BYTES && h.child !== '' ? h : undefined
  } catch {
    return undefined
  }
}

/**
 * Asks a parent for a data channel ticket over a libp2p connection to it. Throws when the parent
 * offers none (`off`); the caller then uses libp2p streams.
 */
export async function ticketFromParent (node: Libp2p, addrs: Multiaddr[], signal: AbortSignal): Promise<{ ticket: DataTicket, host: string }> {
  const connection = await node.dial(addrs, { signal })
  const stream = await connection.newStream(DATA_PROTOCOL, { signal })
  const frame = await new FrameReader(stream, 1024).readFrame(1024)
  await stream.close().catch(() => {})
  if (frame == null) throw new ProtocolError('parent sent no data ticket')
  const ticket = decodeTicket(frame.subarray())
  const host = ipOf(connection.remoteAddr)
  if (host == null) throw new ProtocolError(`no IP address in ${connection.remoteAddr.toString()}`)
  return { ticket, host }
}

/**
 * Opens a data channel with a ticket made for `child` (this peer): plain TCP only when `plain`
 * (the caller's mode is `tcp` and the parent is in its node pool) and the parent offers it, TLS
 * otherwise. Throws when the parent cannot be reached on its data port or refuses the ticket.
 */
export async function connectDataLink (ticket: DataTicket, host: string, child: string, plain: boolean, signal: AbortSignal): Promise<PieceLink> {
  const tls = !plain || ticket.tls || ticket.plainPort === 0
  // piece bodies are read straight into their buffers: no copy, no allocation per read
  const direct = new DirectSocketSource()
  const tlsOptions: ConnectionOptions & { onread: OnReadOpts } = {
    ...TLS_OPTIONS,
    onread: direct.onread,
    host,
    port: ticket.port,
    // the key is the parent's proof of identity: only it and the schedulers hold its ticket secret
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk: Buffer.from(ticket.key), identity: pskIdentity(ticket.id, ticket.expires, child) })
  }
  const socket = tls
    ? tlsConnect(tlsOptions)
    : tcpConnect({ host, port: ticket.plainPort, onread: direct.onread })
  // until socketLink listens: a refused or reset socket must not throw
  socket.on('error', () => {})
  try {
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS)])
    await once(socket, tls ? 'secureConnect' : 'connect', { signal: timeout })
  } catch (err) {
    socket.destroy()
    throw err
  }
  if (!tls) socket.write(lengthPrefixed(DataHello.encode({ id: ticket.id, expires: ticket.expires, child, key: ticket.key })).subarray())
  socket.setNoDelay(true)
  return socketLink(socket, MAX_PIECE_BYTES, direct)
}

/** Opens a data channel to a parent with a ticket it hands out over libp2p (see ticketFromParent, connectDataLink). */
export async function openDataLink (node: Libp2p, addrs: Multiaddr[], plain: boolean, signal: AbortSignal): Promise<PieceLink> {
  const { ticket, host } = await ticketFromParent(node, addrs, signal)
  return await connectDataLink(ticket, host, node.peerId.toString(), plain, signal)
}

/** A parent's ticket, checked: a malformed one is a ProtocolError, never a socket to a made-up port. */
export function decodeTicket (frame: Uint8Array): DataTicket {
  const ticket = DataTicket.decode(frame)
  if (ticket.id.byteLength !== TICKET_ID_BYTES || ticket.key.byteLength !== TICKET_KEY_BYTES || ticket.port === 0 || ticket.port > 65535 || ticket.plainPort > 65535 || !(ticket.expires > 0)) {
    throw new ProtocolError('malformed data ticket')
  }
  return ticket
}

function ipOf (addr: Multiaddr): string | undefined {
  return addr.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')?.value
}
