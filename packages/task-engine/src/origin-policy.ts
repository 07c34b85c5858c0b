import { BlockList, isIP } from 'node:net'
import { lookup } from 'node:dns/promises'
import { createHash } from 'node:crypto'
import { OriginError, OriginAuthError, type Backend, type TaskRequest } from '@damselfly/types'
import type { BackendsInit } from '@damselfly/backend'

/**
 * Addresses a seed never fetches from on a peer's say-so: loopback, private
 * ranges, link-local (cloud metadata services) and the like. A seed fetching
 * whatever URL any peer announces is an SSRF hole into its own network.
 */
const PRIVATE = new BlockList()
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) PRIVATE.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['::ffff:0:0', 96]] as const) PRIVATE.addSubnet(net, bits, 'ipv6')

export function isPrivateAddress (ip: string): boolean {
  const family = isIP(ip)
  if (family === 0) return false
  return PRIVATE.check(ip, family === 4 ? 'ipv4' : 'ipv6')
}

/** The name an operator allow-lists an origin by: its host (with port), an s3:// bucket, an hf:// owner. */
export function originKey (url: string): string {
  try { return new URL(url).host.toLowerCase() } catch { return '' }
}

export interface OriginPolicyInit {
  /** origins (host[:port], s3 bucket, hf owner) this seed may use its own credentials for */
  ownCredentials?: string[]
  /** origins on loopback / private / link-local addresses this seed may fetch from */
  allowPrivate?: string[]
}

/**
 * What a seed may do for a task a peer announced: fetch only public origins
 * (or allow-listed private ones), with the requester's credentials, and with
 * its own only for allow-listed origins.
 */
export class OriginPolicy {
  private readonly own: Set<string>
  private readonly priv: Set<string>

  constructor (init: OriginPolicyInit = {}) {
    this.own = new Set((init.ownCredentials ?? []).map((h) => h.toLowerCase()))
    this.priv = new Set((init.allowPrivate ?? []).map((h) => h.toLowerCase()))
  }

  mayUseOwnCredentials (url: string): boolean { return listed(this.own, url) }

  /** Throws when `url` points at an address the seed must not fetch from for others. */
  async checkTarget (url: string): Promise<void> {
    let u: URL
    try { u = new URL(url) } catch { throw new OriginError(`not a URL: ${JSON.stringify(url)}`) }
    // s3:// and hf:// go to the endpoint the operator configured, not to a host the URL names
    if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'oci:') return
    const key = originKey(url)
    if (listed(this.priv, url)) return
    const host = u.hostname.replace(/^\[|\]$/g, '')
    const addrs = isIP(host) !== 0 ? [host] : await lookup(host, { all: true }).then((r) => r.map((a) => a.address), () => [])
    if (host === 'localhost' || addrs.some(isPrivateAddress)) {
      throw new OriginAuthError(`origin ${key} is on a private, loopback or link-local address; a seed fetches from it only when allow-listed (--origin-allow-private ${key})`, 403)
    }
  }
}

/** `*`, the origin's host:port or its host alone (any port) */
function listed (set: Set<string>, url: string): boolean {
  if (set.has('*')) return true
  const key = originKey(url)
  return key !== '' && (set.has(key) || set.has(key.replace(/:\d+$/, '')))
}

/** The same backends without the operator's own credentials (S3 keys, HF token, registry login). */
export function withoutOwnCredentials (init: BackendsInit = {}): BackendsInit {
  return {
    ...init,
    s3: { ...init.s3, credentials: undefined, anonymous: true },
    hf: { ...init.hf, token: undefined },
    oci: { ...init.oci, username: undefined, password: undefined }
  }
}

/**
 * Remembers, briefly, that a credential may read a URL at its origin, so a
 * burst of requests costs the origin one check. Keyed by a hash of the URL
 * and the credential headers, never by the secrets themselves.
 */
export class AccessCache {
  private readonly ok = new Map<string, number>()

  constructor (private readonly ttlMs = 60_000, private readonly max = 4096) {}

  key (req: TaskRequest): string {
    const creds = Object.entries(req.headers ?? {})
      .filter(([k]) => /^(authorization|cookie|x-amz-|x-api-key)/i.test(k))
      .map(([k, v]) => `${k.toLowerCase()}:${v}`).sort().join('\n')
    return createHash('sha256').update(`${req.url}\n${creds}`).digest('hex')
  }

  has (key: string): boolean {
    const until = this.ok.get(key)
    if (until == null) return false
    if (until > Date.now()) return true
    this.ok.delete(key)
    return false
  }

  add (key: string): void {
    if (this.ok.size >= this.max) this.ok.delete(this.ok.keys().next().value!)
    this.ok.set(key, Date.now() + this.ttlMs)
  }
}

/**
 * Asks the origin, with the requester's own credentials, whether it may read
 * the object (a HEAD / 1-byte ranged GET / S3 HEAD / hub call through the
 * backend's `stat`). Only the origin's refusal (401, 403, 404) denies: an
 * unreachable origin must not stop a download that P2P can still serve.
 */
export async function checkAccess (backend: Backend, req: TaskRequest): Promise<void> {
  try {
    await backend.stat(req.url, req.headers ?? {}, AbortSignal.timeout(15_000))
  } catch (err: any) {
    const status = err?.originStatus as number | undefined
    if (status === 401 || status === 403 || status === 404 || err?.name === 'OriginAuthError') throw err
  }
}
