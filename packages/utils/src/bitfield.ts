/**
 * A piece bitfield, most significant bit first (BitTorrent's layout), so it
 * can be sent on the wire as it is.
 */
export class Bitfield {
  readonly bytes: Uint8Array
  private count: number

  constructor (readonly size: number, bytes?: Uint8Array) {
    const len = Math.ceil(size / 8)
    this.bytes = new Uint8Array(len)
    if (bytes != null) this.bytes.set(bytes.subarray(0, len))
    // bits past `size` are ignored so a malformed field cannot claim extra pieces
    if (size % 8 !== 0 && len > 0) this.bytes[len - 1] &= (0xff << (8 - (size % 8))) & 0xff
    this.count = 0
    for (const b of this.bytes) this.count += POPCOUNT[b]
  }

  get(i: number): boolean {
    if (i < 0 || i >= this.size) return false
    return (this.bytes[i >> 3] & (0x80 >> (i & 7))) !== 0
  }

  set (i: number): boolean {
    if (i < 0 || i >= this.size || this.get(i)) return false
    this.bytes[i >> 3] |= 0x80 >> (i & 7)
    this.count++
    return true
  }

  clear (i: number): void {
    if (!this.get(i)) return
    this.bytes[i >> 3] &= ~(0x80 >> (i & 7))
    this.count--
  }

  get cardinality (): number { return this.count }
  get complete (): boolean { return this.size > 0 && this.count === this.size }

  /** indexes set in `this` and not in `other` */
  * missingIn (other: Bitfield): Generator<number> {
    for (let i = 0; i < this.size; i++) if (this.get(i) && !other.get(i)) yield i
  }

  * indexes (): Generator<number> {
    for (let i = 0; i < this.size; i++) if (this.get(i)) yield i
  }

  /** true when `this` holds at least one piece `other` lacks */
  hasAnyMissingIn (other: Bitfield): boolean {
    const n = Math.min(this.bytes.length, other.bytes.length)
    for (let i = 0; i < n; i++) if ((this.bytes[i] & ~other.bytes[i]) !== 0) return true
    return false
  }

  toBase64 (): string { return Buffer.from(this.bytes).toString('base64') }

  static fromBase64 (size: number, s: string): Bitfield {
    return new Bitfield(size, Buffer.from(s, 'base64'))
  }
}

const POPCOUNT = new Uint8Array(256)
for (let i = 0; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]
