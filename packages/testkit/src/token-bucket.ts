/** Shared rate limit: callers wait until `n` bytes' worth of tokens accrue. */
export class TokenBucket {
  private tokens: number
  private last = performance.now()
  private queue: Promise<void> = Promise.resolve()

  constructor (private readonly rate: number, readonly burst = Math.max(rate / 20, 256 * 1024)) {
    this.tokens = this.burst
  }

  async take (n: number): Promise<void> {
    // serialise takers so the cap holds across concurrent clients
    const p = this.queue.then(async () => {
      while (true) {
        const now = performance.now()
        this.tokens = Math.min(this.burst, this.tokens + (now - this.last) / 1000 * this.rate)
        this.last = now
        if (this.tokens >= n || this.tokens >= this.burst) { this.tokens -= n; return }
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, (n - this.tokens) / this.rate * 1000)))
      }
    })
    this.queue = p
    await p
  }
}
