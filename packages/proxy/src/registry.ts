import { InvalidRequestError } from '@damselfly/types'
import { BLOB_PATH, REGISTRY_ALIASES } from './constants.js'
import { TASK_DROP, upstreamHeaders } from './http-headers.js'
import { serveTask, type ServeTaskComponents } from './serve-task.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Upstream } from './upstream.js'

export interface RegistryInit {
  /**
   * upstream registry URL for `/v2/` requests that name none (no `?ns=`, no
   * `X-Dragonfly-Registry`): what a client configured with a plain mirror URL
   * (skopeo / podman `registries.conf`, docker `registry-mirrors`) sends
   */
  mirror?: string
  /** registries (`host:port`) reached over plain HTTP; loopback ones always are, as in Docker */
  insecure?: string[]
}

export interface RegistryComponents extends ServeTaskComponents {
  upstream: Upstream
}

/**
 * containerd's registry mirror: blob GETs come from P2P (content-addressed
 * by their digest, so one swarm per blob whatever registry or repository
 * names it), everything else (manifests, tags, tokens) goes to the upstream.
 */
export class RegistryMirror {
  private readonly insecure: Set<string>
  private readonly mirror?: URL

  constructor (private readonly c: RegistryComponents, init: RegistryInit = {}) {
    this.insecure = new Set(init.insecure ?? [])
    if (init.mirror != null && init.mirror !== '') this.mirror = new URL(init.mirror)
  }

  /** An origin-form `/v2/…` request. */
  async handle (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const base = this.upstreamOf(req, url)
    if (base == null) throw new InvalidRequestError('name the upstream registry with ?ns=<host>, an X-Dragonfly-Registry header, or configure the proxy\'s registry mirror')
    const query = new URLSearchParams(url.search)
    query.delete('ns')
    const q = query.toString()
    const target = new URL(`${url.pathname}${q === '' ? '' : `?${q}`}`, base)
    await this.forward(req, res, target)
  }

  /** A request for `target` on a registry (mirror or forward proxy alike). */
  async forward (req: IncomingMessage, res: ServerResponse, target: URL): Promise<void> {
    const blob = BLOB_PATH.exec(target.pathname)
    if (req.method === 'GET' && blob != null) {
      await this.blob(req, res, target, blob[2])
      return
    }
    await this.c.upstream.relay(req, res, target, { headers: upstreamHeaders(req) })
  }

  private async blob (req: IncomingMessage, res: ServerResponse, target: URL, digest: string): Promise<void> {
    const headers = upstreamHeaders(req, TASK_DROP)
    // the swarm shares blobs by digest alone: the registry still decides, with
    // this client's credentials, whether this client may have this one
    // (and a 401 carries the token challenge the client needs)
    const access = await this.c.upstream.head(target, headers)
    if (access.statusCode >= 400) {
      await this.c.upstream.relay(req, res, target, { headers: upstreamHeaders(req) })
      return
    }
    await serveTask(this.c, req, res, {
      request: { url: target.href, headers, digest },
      headers: { 'content-type': 'application/octet-stream', 'docker-content-digest': digest, etag: `"${digest}"` }
    })
  }

  private upstreamOf (req: IncomingMessage, url: URL): URL | undefined {
    const header = req.headers['x-dragonfly-registry']
    const named = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('ns') ?? undefined
    if (named == null || named === '') return this.mirror
    if (named.includes('://')) return new URL(named)
    const host = REGISTRY_ALIASES[named] ?? named
    if (this.mirror?.host === host) return this.mirror
    return new URL(`${this.plainHttp(host) ? 'http' : 'https'}://${host}`)
  }

  private plainHttp (host: string): boolean {
    if (this.insecure.has(host)) return true
    const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
    return name === 'localhost' || name === '::1' || /^127\./.test(name)
  }
}
