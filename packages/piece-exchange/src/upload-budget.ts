/**
 * Bytes of piece data all upload streams together may hold in memory (read
 * from disk, not yet handed to the muxer). Without it every inbound stream
 * holds a piece or two, and a popular parent's memory grows with its children.
 */
export class UploadBudget {
  private used = 0
  private readonly waiters: Array<{ bytes: number, resolve: () => void }> = []

  constructor (private readonly limit: number) {}

  /** Resolves once `bytes` fit; a single request larger than the limit is let through alone. */
  async acquire (bytes: number): Promise<void> {
    if (this.fits(bytes) && this.waiters.length === 0) { this.used += bytes; return }
    await new Promise<void>((resolve) => { this.waiters.push({ bytes, resolve }) })
  }

  release (bytes: number): void {
    this.used -= bytes
    // first come, first served: a big request is not starved by small ones
    while (this.waiters.length > 0 && this.fits(this.waiters[0].bytes)) {
      const w = this.waiters.shift()!
      this.used += w.bytes
      w.resolve()
    }
  }

  private fits (bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit
  }
}
