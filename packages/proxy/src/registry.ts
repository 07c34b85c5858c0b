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
  /**
   * registries (`host:port`) a client may name with `X-Dragonfly-Registry` or `?ns=`, besides
   * the mirror and the insecure ones (which the operator named too); `*` = any
   */
  allow?: string[]
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
  private readonly allowed: Set<string>
  private readonly mirror?: URL

  constructor (private readonly c: RegistryComponents, init: RegistryInit = {}) {
    this.insecure = new Set(init.insecure ?? [])
    this.allowed = new Set([...(init.allow ?? []), ...this.insecure])
    if (init.mirror != null && init.mirror !== '') this.mirror = new URL(init.mirror)
  }

  /** An origin-form `/v2/…` request. */
  async handle (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const base = this.upstreamOf(req, url)
    if (base != null && !this.isConfigured(base.host)) {
      // the registry decides who may read a blob, and blobs are shared by digest: a client that
      // could name its own registry would have it vouch (200) for any private layer in the swarm
      throw Object.assign(new InvalidRequestError(`registry ${base.host} is not this proxy's mirror nor allow-listed (--allow-registry ${base.host})`), { status: 403 })
    }
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

  /** A registry the operator configured: the mirror, an insecure one, an allow-listed one. */
  private isConfigured (host: string): boolean {
    return this.allowed.has('*') || this.allowed.has(host) || this.mirror?.host === host
  }

  private async blob (req: IncomingMessage, res: ServerResponse, target: URL, digest: string): Promise<void> {
    const headers = upstreamHeaders(req, TASK_DROP)
    if (!this.isConfigured(target.host)) {
      // a registry the client chose (forward proxy): its word is no proof for a blob others hold
      // under the same digest, so this URL is its own task, verified against the digest all the same
      await serveTask(this.c, req, res, { request: { url: target.href, headers }, headers: { 'content-type': 'application/octet-stream', 'docker-content-digest': digest } })
      return
    }
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
