import { timingSafeEqual } from 'node:crypto'

/** Whether an `Authorization` header presents `Bearer <token>`, compared in constant time. */
export function bearerMatches (header: string | string[] | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(Array.isArray(header) ? header[0] : header ?? '')
  if (m == null || token === '') return false
  const a = Buffer.from(m[1])
  const b = Buffer.from(token)
  return a.byteLength === b.byteLength && timingSafeEqual(a, b)
}
