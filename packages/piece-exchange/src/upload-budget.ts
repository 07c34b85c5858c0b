/**
 * Bytes of piece data all upload streams together may hold in memory (read
 * from disk, not yet handed to the muxer). Without it every inbound stream
 * holds a piece or two, and a popular parent's memory grows with its children.
 * One requester (peer) may hold at most `share` of it, so a slow reader with
 * many streams cannot hold the whole budget and stall everyone else.
 */
export class UploadBudget {
  private used = 0
  private readonly byOwner = new Map<string, number>()
  private readonly waiters: Array<{ bytes: number, owner: string, resolve: () => void }> = []
  private readonly share: number

  /** @param share fraction of the limit one owner may hold @default 1 */
  constructor (private readonly limit: number, share = 1) {
    this.share = Math.max(1, Math.floor(limit * share))
  }

  /** Resolves once `bytes` fit; a single request larger than the limit (or the share) is let through alone. */
  async acquire (bytes: number, owner = ''): Promise<void> {
    if (this.waiters.length === 0 && this.fits(bytes, owner)) { this.take(bytes, owner); return }
    await new Promise<void>((resolve) => { this.waiters.push({ bytes, owner, resolve }) })
  }

  release (bytes: number, owner = ''): void {
    this.used -= bytes
    const left = (this.byOwner.get(owner) ?? 0) - bytes
    if (left > 0) this.byOwner.set(owner, left)
    else this.byOwner.delete(owner)
    // first come, first served among those within their share: a big request is not starved by
    // small ones, and an owner at its share does not hold up the others queued behind it
    for (let i = 0; i < this.waiters.length;) {
      const w = this.waiters[i]
      if (!this.ownerFits(w.bytes, w.owner)) { i++; continue }
      if (!this.globalFits(w.bytes)) break
      this.waiters.splice(i, 1)
      this.take(w.bytes, w.owner)
      w.resolve()
    }
  }

  private take (bytes: number, owner: string): void {
    this.used += bytes
    this.byOwner.set(owner, (this.byOwner.get(owner) ?? 0) + bytes)
  }

  private fits (bytes: number, owner: string): boolean {
    return this.globalFits(bytes) && this.ownerFits(bytes, owner)
  }

  private globalFits (bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit
  }

  private ownerFits (bytes: number, owner: string): boolean {
    const mine = this.byOwner.get(owner) ?? 0
    return mine === 0 || mine + bytes <= this.share
  }
}
