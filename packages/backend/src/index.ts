import { UnsupportedSchemeError } from '@damselfly/types'
import { HttpBackend, type HttpBackendInit } from './http-backend.js'
import type { Backend } from '@damselfly/types'

export { HttpBackend, redactUrl, type HttpBackendInit } from './http-backend.js'

export interface BackendsInit {
  http?: HttpBackendInit
}

/** Backends chosen by URL scheme. */
export class Backends {
  private readonly byScheme = new Map<string, Backend>()

  constructor (backends: Backend[]) {
    for (const b of backends) for (const s of b.schemes) this.byScheme.set(s, b)
  }

  forUrl (url: string): Backend {
    let scheme: string
    try { scheme = new URL(url).protocol.replace(/:$/, '') } catch { throw new UnsupportedSchemeError(`not a URL: ${JSON.stringify(url)}`) }
    const b = this.byScheme.get(scheme)
    if (b == null) throw new UnsupportedSchemeError(`no backend for ${scheme}:// URLs (have ${[...this.byScheme.keys()].join(', ')})`)
    return b
  }

  async close (): Promise<void> {
    await Promise.all([...new Set(this.byScheme.values())].map(async (b) => await (b as { close?: () => Promise<void> }).close?.()))
  }
}

export function createBackends (init: BackendsInit = {}): Backends {
  return new Backends([new HttpBackend(init.http)])
}
