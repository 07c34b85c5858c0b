import type { Dispatcher } from 'undici'

/**
 * An undici dispatcher made on first use. undici is ~1.4 MB of JavaScript whose evaluation cost
 * every daemon ~20 ms of start-up, while most peers never talk HTTP to an origin (their pieces
 * come from parents): it loads when a process first does.
 */
export class LazyDispatcher {
  private made?: Promise<Dispatcher>

  constructor (private readonly make: (undici: typeof import('undici').default) => Dispatcher) {}

  async get (): Promise<Dispatcher> {
    // undici is CommonJS: its exports are the namespace's default, and in the bundle only there
    this.made ??= import('undici').then((m) => this.make(m.default))
    return await this.made
  }

  async close (): Promise<void> {
    if (this.made != null) await (await this.made).close()
  }
}
