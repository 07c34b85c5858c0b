import { blake3Hex } from './blake3.js'
import type { TaskRequest } from '@damselfly/types'

/**
 * Task id (DESIGN.md): BLAKE3 over the URL without filtered query params,
 * tag, application, piece length and range. A known content digest wins: the
 * same bytes behind different URLs then share one swarm.
 */
export function taskIdFor (req: TaskRequest): string {
  if (req.digest != null && req.digest !== '') {
    return blake3Hex(`digest:${normaliseDigest(req.digest)}|range:${req.range ?? ''}|pl:${req.pieceLength ?? ''}`)
  }
  const url = filterQuery(req.url, req.filteredQueryParams ?? [])
  return blake3Hex([
    `url:${url}`,
    `tag:${req.tag ?? ''}`,
    `app:${req.application ?? ''}`,
    `pl:${req.pieceLength ?? ''}`,
    `range:${req.range ?? ''}`
  ].join('|'))
}

export function filterQuery (rawUrl: string, filtered: string[]): string {
  if (filtered.length === 0) return rawUrl
  let u: URL
  try { u = new URL(rawUrl) } catch { return rawUrl }
  for (const p of filtered) u.searchParams.delete(p)
  return u.toString()
}

/** `sha256:ABC` and `sha256:abc` name the same content */
export function normaliseDigest (d: string): string {
  const i = d.indexOf(':')
  if (i < 0) throw new Error(`digest must look like algorithm:hex, got ${JSON.stringify(d)}`)
  return `${d.slice(0, i).toLowerCase()}:${d.slice(i + 1).toLowerCase()}`
}
