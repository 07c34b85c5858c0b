import { UnsupportedSchemeError } from '@damselfly/types'
import { HttpBackend, type HttpBackendInit } from './http-backend.js'
import { OciBackend, type OciBackendInit } from './oci-backend.js'
import { S3Backend, type S3BackendInit } from './s3-backend.js'
import { HfBackend, type HfBackendInit } from './hf-backend.js'
import { ModelScopeBackend, type ModelScopeBackendInit } from './modelscope-backend.js'
import type { Backend } from '@damselfly/types'

export { HttpBackend, type HttpBackendInit, type SendOptions } from './http-backend.js'
export { OciBackend, parseOciUrl, parseOciImageRef, parseChallenge, type OciBackendInit, type OciRef, type OciImageRef } from './oci-backend.js'
export { S3Backend, parseS3Url, type S3BackendInit } from './s3-backend.js'
export { HfBackend, parseHfUrl, formatHfUrl, type HfBackendInit, type HfRef, type HfRepoType } from './hf-backend.js'
export { ModelScopeBackend, parseModelScopeUrl, formatModelScopeUrl, DEFAULT_MODELSCOPE_ENDPOINT, modelScopeContentPath, modelScopeFilesPath, modelScopeFiles, modelScopeDigest, modelScopeFileRef, type ModelScopeBackendInit, type ModelScopeRef, type ModelScopeFile } from './modelscope-backend.js'

/** Options of each backend, by backend: each gets its own part only. */
export interface BackendsInit {
  /** http(s), and the HTTP under oci:// and hf:// (CA, retries, timeouts) */
  http?: HttpBackendInit
  oci?: OciBackendInit
  s3?: S3BackendInit
  hf?: HfBackendInit
  modelscope?: ModelScopeBackendInit
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
  const http = new HttpBackend(init.http)
  return new Backends([
    http,
    new OciBackend(http, init.oci),
    new HfBackend(http, init.hf),
    new ModelScopeBackend(http, init.modelscope),
    new S3Backend({ ca: init.http?.ca, ...init.s3 })
  ])
}
