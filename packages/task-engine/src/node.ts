import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@chainsafe/libp2p-yamux'
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { libp2pSecurity, loadOrCreateKey, YAMUX_KEEPALIVE } from '@damselfly/utils/libp2p'
import { halveYamuxWindowUpdates } from '@damselfly/utils'
import type { Libp2p } from '@libp2p/interface'

/** bytes a socket buffers before send() reports backpressure */
export const SOCKET_HIGH_WATER_MARK = 4 * 1024 * 1024
/** largest yamux receive window a stream grows to */
export const MAX_STREAM_WINDOW = 8 * 1024 * 1024

/**
 * libp2p's defaults are tuned for the public internet: at most 5 inbound
 * connections per second from one host and 10 s upgrade budgets. A node pool
 * behind one NAT (or a lab on loopback) is "one host", and a busy peer can
 * take longer than 10 s to finish a handshake, so both are loosened.
 */
export const CONNECTION_MANAGER = {
  maxConnections: 1024,
  inboundConnectionThreshold: 10_000,
  maxIncomingPendingConnections: 256,
  dialTimeout: 30_000,
  inboundUpgradeTimeout: 30_000
}

export interface NodeInit {
  /** host to listen on @default '127.0.0.1' */
  host?: string
  /** TCP port @default 0 (any free port) */
  port?: number
  /** where the identity key is kept; a fresh identity each start when omitted */
  keyDir?: string
  /** addresses to announce instead of the listen addresses (NAT, containers) */
  announce?: string[]
  /**
   * yamux receive window a stream starts with. Both ends must agree: yamux
   * assumes the other side's initial window equals its own.
   * @default 262144
   */
  initialStreamWindow?: number
  /** keep libp2p's own `debug` loggers (the CLI sets it when DEBUG is); otherwise one silent logger */
  libp2pDebug?: boolean
  /** cluster token: when set, libp2p runs as a private network keyed by it (only members connect) */
  clusterToken?: string
}

/**
 * A libp2p node with TCP + Noise + yamux and nothing else: peers and
 * schedulers find each other through the scheduler, not through a DHT.
 */
export async function createNode (init: NodeInit = {}): Promise<Libp2p> {
  halveYamuxWindowUpdates(YamuxStream)
  const privateKey = await loadOrCreateKey(init.keyDir != null ? join(init.keyDir, 'peer.key') : undefined)
  return await createLibp2p({
    privateKey,
    ...libp2pSecurity({ clusterToken: init.clusterToken, debug: init.libp2pDebug }),
    addresses: {
      listen: [`/ip4/${init.host ?? '127.0.0.1'}/tcp/${init.port ?? 0}`],
      announce: init.announce
    },
    transports: [tcp({
      // node's default 16 KiB high-water mark makes every noise frame wait a full event-loop turn for 'drain'
      dialOpts: { highWaterMark: SOCKET_HIGH_WATER_MARK } as any,
      listenOpts: { highWaterMark: SOCKET_HIGH_WATER_MARK } as any
    })],
    streamMuxers: [yamux({
      ...YAMUX_KEEPALIVE,
      // pieces are MiBs: let a stream's window grow far enough to keep the pipe full
      streamOptions: { initialStreamWindowSize: init.initialStreamWindow ?? 256 * 1024, maxStreamWindowSize: MAX_STREAM_WINDOW, maxReadBufferLength: 256 * 1024 * 1024 }
    } as any)],
    connectionManager: CONNECTION_MANAGER,
    // no libp2p pings: the scheduler session has its own heartbeat (scheduler.proto), a piece
    // request its own timeout, and an idle connection between peers closes after the socket's
    // inactivity timeout (2 min). Pings were most of what an idle daemon did: a stream opened and a
    // protocol negotiated per connection every 10 s, and a 5 s timer each
    connectionMonitor: { enabled: false },
    start: false
  })
}

export function listenAddrs (node: Libp2p): string[] {
  return node.getMultiaddrs().map((ma) => ma.toString())
}
