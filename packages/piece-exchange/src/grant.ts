import { Grant, GRANT_TTL_MS } from '@damselfly/proto'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'

/**
 * What the scheduler signs: the task, the peer allowed to fetch its pieces and
 * until when. Domain-separated, so no other signature by the same key can pass.
 */
export function grantPayload (taskId: string, peerId: string, expires: number): Uint8Array {
  return new TextEncoder().encode(`damselfly-grant/1\n${taskId}\n${peerId}\n${expires}`)
}

/**
 * The scheduler's side: a grant for `peerId` to fetch the pieces of `taskId`. Synchronous when the
 * key signs synchronously (Ed25519 does), so a member's first plan already carries its grant.
 */
export function signGrant (key: PrivateKey, schedulerId: string, taskId: string, peerId: string, now = Date.now()): Grant | Promise<Grant> {
  const expires = now + GRANT_TTL_MS
  const make = (signature: Uint8Array): Grant => ({ taskId, peerId, expires, schedulerId, signature: signature as Uint8Array<ArrayBuffer> })
  const sig = key.sign(grantPayload(taskId, peerId, expires))
  return sig instanceof Uint8Array ? make(sig) : sig.then(make)
}

/**
 * Checks a grant presented by `requester` for `taskId`: signed by one of the
 * scheduler identities this peer trusts (pinned, or learnt in dev mode), for
 * this requester and this task, not expired. Returns why not, or undefined.
 */
export async function checkGrant (encoded: Uint8Array, requester: string, taskId: string, trusted: ReadonlySet<string>, now = Date.now()): Promise<string | undefined> {
  if (encoded.byteLength === 0) return 'no grant'
  let g: Grant
  try { g = Grant.decode(encoded) } catch { return 'malformed grant' }
  if (g.taskId !== taskId) return 'grant is for another task'
  if (g.peerId !== requester) return 'grant is for another peer'
  if (g.expires < now) return 'grant expired'
  if (!trusted.has(g.schedulerId)) return 'grant signed by an untrusted scheduler'
  let ok = false
  try {
    const key = peerIdFromString(g.schedulerId).publicKey
    ok = key != null && await key.verify(grantPayload(g.taskId, g.peerId, g.expires), g.signature)
  } catch {}
  return ok ? undefined : 'bad grant signature'
}
