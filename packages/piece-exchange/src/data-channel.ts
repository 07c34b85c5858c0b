import { createServer as createTcpServer, connect as tcpConnect, type OnReadOpts, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { DataTicket } from '@damselfly/proto'
import { FrameReader, DirectSocketSource, lengthPrefixed, type Logger } from '@damselfly/utils'
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
const ID_BYTES = 16
const KEY_BYTES = 32
const TICKET_TTL_MS = 30_000
const MAX_TICKETS = 4096
/** live tickets one peer may hold: a peer asking for tickets in a loop only spends its own */
const MAX_TICKETS_PER_PEER = 64
const HANDSHAKE_TIMEOUT_MS = 10_000

interface Ticket { key: Buffer, peer: string, expires: number }

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
 * The parent's side of data channels: hands out tickets over libp2p and
 * accepts sockets that present one.
 */
export class DataChannelServer {
  private readonly tickets = new Map<string, Ticket>()
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
    this.tickets.clear()
  }

  private async issue (stream: Stream, connection: Connection): Promise<void> {
    const id = randomBytes(ID_BYTES)
    const key = randomBytes(KEY_BYTES)
    const now = Date.now()
    const peer = connection.remotePeer.toString()
    // only expired tickets are ever evicted: a flood of requests must not push out the live
    // tickets of other peers; past the limits, new tickets are refused instead
    let mine = 0
    for (const [k, t] of this.tickets) {
      if (t.expires <= now) this.tickets.delete(k)
      else if (t.peer === peer) mine++
    }
    if (mine >= MAX_TICKETS_PER_PEER || this.tickets.size >= MAX_TICKETS) throw new ProtocolError('too many open data tickets')
    this.tickets.set(id.toString('hex'), { key, peer, expires: now + TICKET_TTL_MS })
    stream.send(lengthPrefixed(DataTicket.encode({ port: this.port ?? 0, id, key, tls: this.plain == null, plainPort: this.plainPort ?? 0 })))
    await stream.close()
  }

  /** single use: a ticket is gone once presented, valid or not */
  private take (idHex: string): Ticket | undefined {
    const t = this.tickets.get(idHex)
    this.tickets.delete(idHex)
    return t != null && t.expires > Date.now() ? t : undefined
  }

  private tlsServer (): Server {
    const peers = new WeakMap<TLSSocket, string>()
    const server = createTlsServer({
      ...TLS_OPTIONS,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      pskCallback: (socket, identity) => {
        const t = this.take(identity)
        if (t == null) return null
        peers.set(socket, t.peer)
        return t.key
      }
    })
    server.on('secureConnection', (socket) => {
      const peer = peers.get(socket)
      if (peer == null) { socket.destroy(); return }
      this.accept(socket, peer)
    })
    server.on('tlsClientError', (err) => { this.init.log.debug({ err: err.message }, 'data channel handshake failed') })
    return server
  }

  private tcpServer (): Server {
    return createTcpServer((socket) => {
      socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => socket.destroy())
      socket.on('error', () => {})
      let head = Buffer.alloc(0)
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk])
        if (head.byteLength < ID_BYTES + KEY_BYTES) return
        socket.off('data', onData)
        socket.pause()
        const rest = head.subarray(ID_BYTES + KEY_BYTES)
        if (rest.byteLength > 0) socket.unshift(rest)
        const t = this.take(head.subarray(0, ID_BYTES).toString('hex'))
        if (t == null || !timingSafeEqual(t.key, head.subarray(ID_BYTES, ID_BYTES + KEY_BYTES))) {
          this.init.log.debug('data channel ticket refused')
          socket.destroy()
          return
        }
        socket.setTimeout(0)
        this.accept(socket, t.peer)
        socket.resume()
      }
      socket.on('data', onData)
    })
  }

  private accept (socket: Socket, peer: string): void {
    socket.setNoDelay(true)
    this.init.onLink(socketLink(socket, REQUEST_READER_BYTES), peer)
  }
}

/**
 * Opens a data channel to a parent over the libp2p connection to it: plain
 * TCP only when `plain` (the caller's mode is `tcp` and the parent is in its
 * node pool) and the parent offers it, TLS otherwise. Throws when the parent
 * offers none (`off`) or cannot be reached on its data port; the caller then
 * uses libp2p streams.
 */
export async function openDataLink (node: Libp2p, addrs: Multiaddr[], plain: boolean, signal: AbortSignal): Promise<PieceLink> {
  const connection = await node.dial(addrs, { signal })
  const stream = await connection.newStream(DATA_PROTOCOL, { signal })
  const frame = await new FrameReader(stream, 1024).readFrame(1024)
  await stream.close().catch(() => {})
  if (frame == null) throw new ProtocolError('parent sent no data ticket')
  const ticket = decodeTicket(frame.subarray())
  const tls = !plain || ticket.tls || ticket.plainPort === 0
  const host = ipOf(connection.remoteAddr)
  if (host == null) throw new ProtocolError(`no IP address in ${connection.remoteAddr.toString()}`)
  // piece bodies are read straight into their buffers: no copy, no allocation per read
  const direct = new DirectSocketSource()
  const tlsOptions: ConnectionOptions & { onread: OnReadOpts } = {
    ...TLS_OPTIONS,
    onread: direct.onread,
    host,
    port: ticket.port,
    // the key is the parent's proof of identity: it came over Noise from this peer id
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk: Buffer.from(ticket.key), identity: Buffer.from(ticket.id).toString('hex') })
  }
  const socket = tls
    ? tlsConnect(tlsOptions)
    : tcpConnect({ host, port: ticket.plainPort, onread: direct.onread })
  try {
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS)])
    await once(socket, tls ? 'secureConnect' : 'connect', { signal: timeout })
  } catch (err) {
    socket.destroy()
    throw err
  }
  if (!tls) socket.write(Buffer.concat([ticket.id, ticket.key]))
  socket.setNoDelay(true)
  return socketLink(socket, MAX_PIECE_BYTES, direct)
}

/** A parent's ticket, checked: a malformed one is a ProtocolError, never a socket to a made-up port. */
export function decodeTicket (frame: Uint8Array): DataTicket {
  const ticket = DataTicket.decode(frame)
  if (ticket.id.byteLength !== ID_BYTES || ticket.key.byteLength !== KEY_BYTES || ticket.port === 0 || ticket.port > 65535 || ticket.plainPort > 65535) {
    throw new ProtocolError('malformed data ticket')
  }
  return ticket
}

function ipOf (addr: Multiaddr): string | undefined {
  return addr.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')?.value
}
