import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Data channel tickets (piece.proto, DataTicket): a ticket names the child it was made for and
 * when it expires, and its key is an HMAC of both under the parent's ticket secret. Whoever holds
 * the secret (the parent, and the schedulers it registered with, over Noise) can make one; the
 * parent checks one with no state but the ids already used.
 */
export const TICKET_SECRET_BYTES = 32
export const TICKET_ID_BYTES = 16
export const TICKET_KEY_BYTES = 32
const CONTEXT = Buffer.from('damselfly/data-ticket/1\0')

export interface TicketGrant { id: Uint8Array<ArrayBuffer>, expires: number, key: Uint8Array<ArrayBuffer> }

export function ticketKey (secret: Uint8Array, id: Uint8Array, expires: number, child: string): Uint8Array<ArrayBuffer> {
  const when = Buffer.alloc(8)
  when.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(expires))))
  return new Uint8Array(createHmac('sha256', secret).update(CONTEXT).update(id).update(when).update(child, 'utf8').digest())
}

/** A fresh ticket for `child`, valid `ttlMs` from `now`. */
export function makeTicket (secret: Uint8Array, child: string, ttlMs: number, now = Date.now()): TicketGrant {
  const id = new Uint8Array(randomBytes(TICKET_ID_BYTES))
  const expires = now + ttlMs
  return { id, expires, key: ticketKey(secret, id, expires, child) }
}

/** Whether `key` is the key of ticket (`id`, `expires`) for `child` (constant time; expiry and reuse are the caller's). */
export function ticketKeyMatches (secret: Uint8Array, id: Uint8Array, expires: number, child: string, key: Uint8Array): boolean {
  if (id.byteLength !== TICKET_ID_BYTES || key.byteLength !== TICKET_KEY_BYTES) return false
  return timingSafeEqual(ticketKey(secret, id, expires, child), key)
}

/** The TLS-PSK identity a child presents: "hex(id).expires.child" (peer ids are base58: no dots). */
export function pskIdentity (id: Uint8Array, expires: number, child: string): string {
  return `${Buffer.from(id).toString('hex')}.${expires}.${child}`
}

export function parsePskIdentity (identity: string): { id: Buffer, expires: number, child: string } | undefined {
  const m = /^([0-9a-f]{32})\.(\d{1,16})\.([1-9A-HJ-NP-Za-km-z]{1,100})$/.exec(identity)
  if (m == null) return undefined
  return { id: Buffer.from(m[1], 'hex'), expires: Number(m[2]), child: m[3] }
}
