/**
 * Pieces kept in memory for uploads, least recently used first out.
 *
 * In a swarm every piece is asked for by several children within a second
 * or two of arriving. Pieces are written and read with O_DIRECT (no page
 * cache), so without this each of those uploads read the piece from disk
 * again: the 8-peer swarm bench read ~8 GiB while writing 9 GiB, the disk sat
 * at 100% busy, and the seed stopped reading the origin while its piece
 * writes queued behind those reads (origin at 86 MiB/s of its 100).
 *
 * Buffers are lent, not copied: a buffer stays in use while any socket still
 * sends it, and goes back to `free` (the piece buffer pool) only once it has
 * left the cache and the last borrower has given it back. A borrower that
 * never gives it back (a stalled libp2p queue) leaves it to the GC.
 */
export class PieceCache {
  /** by key, least recently used first */
  private readonly entries = new Map<string, Entry>()
  /** every buffer the cache owns or has lent, weakly: a lost loan must not pin memory */
  private readonly owners = new WeakMap<Uint8Array, Entry>()
  private bytes = 0
  /** lend() calls that found their piece, and those that did not */
  hits = 0
  misses = 0

  /**
   * @param maxBytes memory the cache may hold (0 turns it off)
   * @param free takes back buffers the cache no longer needs (a buffer pool)
   */
  constructor (readonly maxBytes: number, private readonly free: (buf: Uint8Array) => void) {}

  get size (): number { return this.entries.size }
  get heldBytes (): number { return this.bytes }

  /**
   * Takes over `buf`, the content of `key`: kept while it fits, else freed.
   * Whoever hands a buffer over must not write to it again.
   */
  put (key: string, buf: Uint8Array): void {
    if (this.owners.has(buf)) return
    if (buf.byteLength > this.maxBytes || this.entries.has(key)) { this.free(buf); return }
    const entry: Entry = { key, buf, loans: 0, cached: true }
    this.entries.set(key, entry)
    this.owners.set(buf, entry)
    this.bytes += buf.byteLength
    while (this.bytes > this.maxBytes) this.evict(this.entries.values().next().value!)
  }

  /** Lends the content of `key` if held; give it back with release(). */
  lend (key: string): Uint8Array | undefined {
    const entry = this.entries.get(key)
    if (entry == null) { this.misses++; return undefined }
    this.hits++
    return this.borrow(entry)
  }

  /**
   * Takes over `buf` as `key` and lends it straight back; when `key` is held
   * already (a concurrent read got there first) `buf` is freed and the held
   * one lent. A buffer too large to keep is lent uncached.
   */
  lendNew (key: string, buf: Uint8Array): Uint8Array {
    const held = this.entries.get(key)
    if (held != null) { this.free(buf); return this.borrow(held) }
    if (buf.byteLength > this.maxBytes) return buf
    this.put(key, buf)
    return this.borrow(this.entries.get(key)!)
  }

  /** Gives back a lent buffer; any other buffer goes straight to `free`. */
  release (buf: Uint8Array): void {
    const entry = this.owners.get(buf)
    if (entry == null) { this.free(buf); return }
    if (entry.loans > 0) entry.loans--
    if (entry.loans === 0 && !entry.cached) {
      this.owners.delete(buf)
      this.free(buf)
    }
  }

  /** Forgets `key` (its piece is gone or no longer trusted). */
  delete (key: string): void {
    const entry = this.entries.get(key)
    if (entry != null) this.evict(entry)
  }

  /** Forgets every key that starts with `prefix`. */
  deletePrefix (prefix: string): void {
    for (const entry of [...this.entries.values()]) if (entry.key.startsWith(prefix)) this.evict(entry)
  }

  private borrow (entry: Entry): Uint8Array {
    // most recently used goes last
    this.entries.delete(entry.key)
    this.entries.set(entry.key, entry)
    entry.loans++
    return entry.buf
  }

  private evict (entry: Entry): void {
    this.entries.delete(entry.key)
    this.bytes -= entry.buf.byteLength
    entry.cached = false
    if (entry.loans === 0) {
      this.owners.delete(entry.buf)
      this.free(entry.buf)
    }
  }
}

interface Entry {
  key: string
  buf: Uint8Array
  /** borrowers that have not given it back yet */
  loans: number
  /** still findable by key; once not, the last borrower frees it */
  cached: boolean
}
