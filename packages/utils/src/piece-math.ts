import type { PieceRange } from '@damselfly/types'

export const MIN_PIECE_LENGTH = 4 * 1024 * 1024
export const MAX_PIECE_LENGTH = 64 * 1024 * 1024
/** aim for about this many pieces per task */
export const TARGET_PIECE_COUNT = 500

/**
 * Piece length rule (DESIGN.md): the next power of two of size/500, clamped
 * to [4 MiB, 64 MiB]. Unknown sizes get the minimum.
 */
export function pieceLengthFor (contentLength: number): number {
  if (!(contentLength > 0)) return MIN_PIECE_LENGTH
  const ideal = Math.ceil(contentLength / TARGET_PIECE_COUNT)
  let p = 1
  while (p < ideal) p *= 2
  return Math.min(MAX_PIECE_LENGTH, Math.max(MIN_PIECE_LENGTH, p))
}

export function pieceCount (contentLength: number, pieceLength: number): number {
  if (contentLength <= 0) return 0
  return Math.ceil(contentLength / pieceLength)
}

export function pieceRange (index: number, contentLength: number, pieceLength: number): PieceRange {
  const offset = index * pieceLength
  if (index < 0 || offset >= contentLength) {
    throw new RangeError(`piece ${index} is outside content of ${contentLength} bytes`)
  }
  return { index, offset, length: Math.min(pieceLength, contentLength - offset) }
}

/** Pieces that cover the inclusive byte range [start, end]. */
export function piecesCovering (start: number, end: number, pieceLength: number): { first: number, last: number } {
  return { first: Math.floor(start / pieceLength), last: Math.floor(end / pieceLength) }
}

/**
 * Parses an HTTP `Range` header value (`bytes=a-b`, `bytes=a-`, `bytes=-n`)
 * against a known length; one range only. Returns undefined when unsatisfiable
 * or malformed.
 */
export function parseRange (value: string, contentLength: number): { start: number, end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim())
  if (m == null || (m[1] === '' && m[2] === '')) return undefined
  let start: number
  let end: number
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0) return undefined
    start = Math.max(0, contentLength - suffix)
    end = contentLength - 1
  } else {
    start = Number(m[1])
    end = m[2] === '' ? contentLength - 1 : Math.min(Number(m[2]), contentLength - 1)
  }
  if (start > end || start >= contentLength) return undefined
  return { start, end }
}
