// Pieces of a libp2p node's set-up shared by the peer and the scheduler. Imported by path
// (`@damselfly/utils/libp2p`), not from the index: loading libp2p-noise instantiates WebAssembly,
// which a process under an address-space limit that never opens a libp2p node must not pay for.
import { hkdfSync } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { noise, type ICryptoInterface } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { preSharedKey } from '@libp2p/pnet'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { clusterPsk, CLUSTER_PSK_TIMEOUT_MS } from './cluster-key.js'
import type { ComponentLogger, Logger, PrivateKey } from '@libp2p/interface'

const NO_INFO = new Uint8Array(0)

/**
 * Noise's default crypto (OpenSSL for X25519 and large ChaCha20-Poly1305 frames) with HKDF from
 * OpenSSL too: the default takes it from @noble/hashes, in JavaScript, and a handshake runs it
 * several times. In a 16-peer swarm's first download the handshakes cost 0.67 CPU s, 0.29 of it in
 * that HKDF. Same construction (RFC 5869, salt = chaining key, no info, 3 x 32 bytes).
 */
export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  getHKDF (ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
    const okm = new Uint8Array(hkdfSync('sha256', ikm, ck, NO_INFO, 96))
    return [okm.subarray(0, 32), okm.subarray(32, 64), okm.subarray(64, 96)]
  }
}

const silent: Logger = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: (): Logger => silent
})

/**
 * libp2p's component logger, unless its own `debug` loggers are wanted (DEBUG=libp2p*, decided by
 * the CLI): the default builds a `debug` instance for every connection, stream and protocol
 * negotiation, and each asks whether stderr is a terminal (an ioctl; ~400 per peer per download in
 * a 16-peer swarm) with nothing enabled. One silent logger serves every component instead.
 */
function libp2pLogger (debug: boolean): ComponentLogger | undefined {
  return debug ? undefined : { forComponent: () => silent }
}

/**
 * yamux's keep-alive, as every Damselfly node runs it: one ping when a connection opens, for the
 * round-trip time a stream's window growth needs (without it a bulk stream never grows past its
 * first window), then none to speak of. By default yamux pinged every connection every 30 s from
 * both ends; nothing else read the answers, and it kept idle connections between peers from ever
 * closing. Scheduler sessions have heartbeats of their own (scheduler.proto).
 */
export const YAMUX_KEEPALIVE = { enableKeepAlive: true, keepAliveInterval: 24 * 60 * 60_000 }

/**
 * The libp2p options every Damselfly node takes alike, peer or scheduler: Noise with noiseCrypto,
 * the cluster's private network when a token is set (only members connect), and the logger. Both
 * ends of a connection must agree on the first two.
 */
export function libp2pSecurity (init: { clusterToken?: string, debug?: boolean }) {
  const token = init.clusterToken ?? ''
  return {
    logger: libp2pLogger(init.debug === true),
    connectionEncrypters: [noise({ crypto: noiseCrypto })],
    connectionProtector: token !== '' ? preSharedKey({ psk: clusterPsk(token), timeout: CLUSTER_PSK_TIMEOUT_MS }) : undefined
  }
}

/**
 * A node's libp2p identity from `file` (owner-only), created there on first start; a fresh one
 * each time when no file is given. Its peer id is what others pin, so it must outlive restarts.
 */
export async function loadOrCreateKey (file?: string): Promise<PrivateKey> {
  if (file == null) return await generateKeyPair('Ed25519')
  try {
    return privateKeyFromProtobuf(await readFile(file))
  } catch (err: any) {
    if (err.code !== 'ENOENT') throw err
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' }).catch((err) => {
    // another process created it first: use theirs
    if (err.code !== 'EEXIST') throw err
  })
  return privateKeyFromProtobuf(await readFile(file))
}
