/** Parses "512MiB", "20GiB", "1.5GB" or a number into bytes (binary units for both spellings, as disks are sized). */
export function parseBytes (v: number | string): number {
  if (typeof v === 'number') return v
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT])?i?B?$/i.exec(v.trim())
  if (m == null) throw new Error(`invalid size ${JSON.stringify(v)}`)
  const exp = m[2] == null ? 0 : 'KMGT'.indexOf(m[2].toUpperCase()) + 1
  return Math.round(Number(m[1]) * 1024 ** exp)
}

/**
 * Parses a rate in bytes per second: a size as parseBytes reads it, with an
 * optional `/s` ("10MiB/s", "800K", 1048576). 0 means unlimited.
 */
export function parseRate (v: number | string): number {
  const n = parseBytes(typeof v === 'string' ? v.trim().replace(/\/s$/i, '') : v)
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`invalid rate ${JSON.stringify(v)}: use bytes per second like 10MiB, 800KiB or 1048576`)
  return Math.round(n)
}
