import { createHash } from 'node:crypto'

/**
 * The libp2p private-network key (`@libp2p/pnet` pre-shared key format) of a
 * cluster, derived from its cluster token: a node without the token cannot
 * complete a libp2p connection with any member, so it cannot ask anyone for
 * pieces, tickets or a scheduler session. Domain-separated from the token's
 * other use (registration), so the key reveals nothing about the token.
 */
export function clusterPsk (token: string): Uint8Array {
  const key = createHash('sha256').update(`damselfly-cluster-psk/1\n${token}`).digest('hex')
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${key}`)
}

/** pnet's nonce exchange gets this long (its 1 s default is too short for a busy 2-core host) */
export const CLUSTER_PSK_TIMEOUT_MS = 10_000
