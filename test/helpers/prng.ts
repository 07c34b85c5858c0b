/** mulberry32: a tiny seeded PRNG, so a fuzz failure can be replayed from its seed */
export function prng (seed: number): { next: () => number, int: (n: number) => number, bytes: (n: number) => Uint8Array } {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  const bytes = (n: number): Uint8Array => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = int(256); return b }
  return { next, int, bytes }
}

/** Random garbage or a damaged copy of a valid encoding: flipped bits, cut short, spliced, huge varints. */
export function mutate (r: ReturnType<typeof prng>, valid: Uint8Array[]): Uint8Array {
  const kind = r.int(5)
  if (kind === 0 || valid.length === 0) return r.bytes(r.int(600))
  const base = Uint8Array.from(valid[r.int(valid.length)])
  if (kind === 1) { for (let i = 0, n = 1 + r.int(8); i < n && base.length > 0; i++) base[r.int(base.length)] ^= 1 << r.int(8); return base }
  if (kind === 2) return base.subarray(0, r.int(base.length + 1))
  if (kind === 3) {
    // a length-delimited field claiming far more bytes than follow
    const at = r.int(base.length + 1)
    const huge = Uint8Array.from([(r.int(15) + 1) << 3 | 2, 0xff, 0xff, 0xff, 0xff, 0x0f])
    return Uint8Array.from([...base.subarray(0, at), ...huge, ...base.subarray(at)])
  }
  const other = valid[r.int(valid.length)]
  return Uint8Array.from([...base.subarray(0, r.int(base.length + 1)), ...other.subarray(r.int(other.length + 1))])
}
