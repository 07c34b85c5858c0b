import type { IncomingMessage, ServerResponse } from 'node:http'
import { DamselflyError, OriginError, errorInfo } from '@damselfly/types'

type HeaderBag = Record<string, string | string[] | undefined>

/** Meaningful for one connection only (RFC 9110 §7.6.1), never relayed. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'host',
  // ours: it addresses this proxy, not the upstream
  'x-dragonfly-registry'
])

/**
 * Dropped from the headers of a P2P task: the task is the whole object,
 * fetched once for everybody, so per-client ranges, conditions and encodings
 * do not apply to it (they are answered locally from the pieces).
 */
export const TASK_DROP = [
  'range', 'if-range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since',
  'accept-encoding', 'content-length', 'expect'
]

/** The client's end-to-end request headers, for the upstream. */
export function upstreamHeaders (req: IncomingMessage, drop: string[] = []): Record<string, string> {
  const skip = new Set([...HOP_BY_HOP, ...drop, ...connectionTokens(req.headers.connection)])
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) {
    if (v == null || skip.has(k)) continue
    out[k] = Array.isArray(v) ? v.join(', ') : v
  }
  return out
}

/** The upstream's end-to-end response headers, for the client. */
export function downstreamHeaders (h: HeaderBag): Record<string, string | string[]> {
  const skip = new Set([...HOP_BY_HOP, ...connectionTokens(h.connection)])
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(h)) if (v != null && !skip.has(k)) out[k] = v
  return out
}

export function pick (h: HeaderBag, names: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const n of names) {
    const v = h[n]
    if (v != null) out[n] = Array.isArray(v) ? v.join(', ') : v
  }
  return out
}

function connectionTokens (v: string | string[] | undefined): string[] {
  if (v == null) return []
  return (Array.isArray(v) ? v.join(',') : v).split(',').map((t) => t.trim().toLowerCase()).filter(Boolean)
}

/** An origin's own 4xx (missing object, no access) reaches the client as is; the rest are ours. */
export function statusOf (err: unknown): number {
  if (err instanceof OriginError && err.originStatus != null && err.originStatus >= 400 && err.originStatus < 500) return err.originStatus
  if (err instanceof DamselflyError) return err.status
  return 502
}

/** Answers with the error as JSON, or cuts the connection when the body has already begun. */
export function sendError (res: ServerResponse, err: unknown): void {
  if (res.headersSent) { res.destroy(err instanceof Error ? err : undefined); return }
  const body = JSON.stringify({ error: errorInfo(err) })
  res.writeHead(statusOf(err), { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
}
