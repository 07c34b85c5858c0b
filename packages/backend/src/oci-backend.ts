import { createHash } from 'node:crypto'
import { InvalidUrlError, OriginAuthError, OriginError } from '@damselfly/types'
import { getResultFrom, rangeHeaders, statFromProbe, type HttpBackend } from './http-backend.js'
import type { Backend, GetOptions, GetResult, ObjectEntry, ObjectStat } from '@damselfly/types'
import type { Dispatcher } from 'undici'
import { redactUrl } from '@damselfly/utils'

export interface OciBackendInit {
  /** registry user for basic auth and token requests (a `user:pass@` in the URL wins) */
  username?: string
  password?: string
  /**
   * registries (`host:port`) spoken to over plain HTTP besides loopback ones; `true` for all
   * @default loopback hosts only
   */
  plainHttp?: boolean | string[]
  /** token services (`host:port`) on other hosts than their registry that may receive `username`/`password` */
  trustedRealms?: string[]
}

export interface OciRef {
  /** `host[:port]` */
  host: string
  /** repository name, may have slashes */
  name: string
  /** `sha256:<hex>` */
  digest: string
  username?: string
  password?: string
}

/** `oci://[user:pass@]host[:port]/<name>/blobs/sha256:<hex>` */
export function parseOciUrl (url: string): OciRef {
  let u: URL
  try { u = new URL(url) } catch { throw new InvalidUrlError(`not a URL: ${JSON.stringify(redactUrl(url))}`) }
  const m = /^\/(.+)\/blobs\/(sha256:[0-9a-fA-F]{64})$/.exec(u.pathname)
  if (u.protocol !== 'oci:' || u.host === '' || m == null) {
    throw new InvalidUrlError(`OCI URLs look like oci://host[:port]/<name>/blobs/sha256:<64 hex>, got ${redactUrl(url)}`)
  }
  return {
    host: u.host,
    name: m[1],
    digest: m[2].toLowerCase(),
    username: u.username !== '' ? decodeURIComponent(u.username) : undefined,
    password: u.password !== '' ? decodeURIComponent(u.password) : undefined
  }
}

export interface OciImageRef { host: string, name: string, reference: string, username?: string, password?: string }

/** `oci://[user:pass@]host[:port]/<name>:<tag>` or `…/<name>@sha256:<hex>`; undefined for blob URLs */
export function parseOciImageRef (url: string): OciImageRef | undefined {
  let u: URL
  try { u = new URL(url) } catch { return undefined }
  if (u.protocol !== 'oci:' || /\/blobs\/sha256:/.test(u.pathname)) return undefined
  const m = /^\/([a-z0-9._\/-]+?)(?::([\w][\w.-]{0,127})|@(sha256:[0-9a-f]{64}))$/.exec(u.pathname)
  if (m == null) return undefined
  return {
    host: u.host,
    name: m[1],
    reference: m[2] ?? m[3],
    username: u.username !== '' ? decodeURIComponent(u.username) : undefined,
    password: u.password !== '' ? decodeURIComponent(u.password) : undefined
  }
}

/** `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` */
export function parseChallenge (header: string): { scheme: string, params: Record<string, string> } {
  const scheme = /^\s*(\w+)/.exec(header)?.[1]?.toLowerCase() ?? ''
  const params: Record<string, string> = {}
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) params[m[1].toLowerCase()] = m[2]
  return { scheme, params }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/

/**
 * Blobs of an OCI (Docker) registry. The digest in the URL is the content
 * digest, so tasks are content-addressed and the result verified. Speaks the
 * distribution auth flow: a 401 challenge answered with a bearer token from
 * the realm (basic credentials sent to the realm when we have some), or
 * basic auth when the registry asks for it.
 */
function credentialTag (user?: string, pass?: string): string {
  if (user == null) return ''
  return createHash('sha256').update(`${user}:${pass ?? ''}`).digest('hex').slice(0, 16)
}

export class OciBackend implements Backend {
  readonly schemes = ['oci']
  /** Authorization per registry + repository; '' = the registry wants none */
  private readonly auth = new Map<string, string>()

  constructor (private readonly http: HttpBackend, private readonly init: OciBackendInit = {}) {}

  blobUrl (ref: OciRef): string {
    const plain = this.init.plainHttp === true || LOOPBACK.test(ref.host) ||
      (Array.isArray(this.init.plainHttp) && this.init.plainHttp.includes(ref.host))
    return `${plain ? 'http' : 'https'}://${ref.host}/v2/${ref.name}/blobs/${ref.digest}`
  }

  async stat (url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<ObjectStat> {
    const ref = parseOciUrl(url)
    const blob = this.blobUrl(ref)
    const res = await this.authorised(ref, headers, signal, async (h) => await this.http.send(blob, { headers: { ...h, range: 'bytes=0-0' }, signal }))
    const stat = await statFromProbe(blob, res)
    return { ...stat, digest: ref.digest }
  }

  async get (url: string, headers: Record<string, string>, options: GetOptions): Promise<GetResult> {
    const ref = parseOciUrl(url)
    const blob = this.blobUrl(ref)
    const res = await this.authorised(ref, headers, options.signal, async (h) => await this.http.send(blob, { headers: rangeHeaders(h, options), signal: options.signal }))
    return await getResultFrom(blob, res, options.start ?? 0)
  }

  /**
   * A blob URL names itself (its digest is in the URL); an image reference
   * (`oci://host/name:tag` or `…@sha256:…`) names its config and layers,
   * read from the manifest (for an index: the linux/amd64 image, else the first).
   */
  async list (url: string, headers: Record<string, string> = {}): Promise<ObjectEntry[]> {
    const image = parseOciImageRef(url)
    if (image == null) {
      const ref = parseOciUrl(url)
      return [{ url, path: ref.digest.replace(':', '-'), contentLength: -1, digest: ref.digest }]
    }
    let manifest = await this.manifest(image, image.reference, headers)
    if (Array.isArray(manifest.manifests)) {
      const pick = manifest.manifests.find((m: any) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64') ?? manifest.manifests[0]
      if (pick == null) throw new OriginError(`image index ${redactUrl(url)} lists no manifests`)
      manifest = await this.manifest(image, pick.digest, headers)
    }
    const blobs = [manifest.config, ...(manifest.layers ?? [])].filter((b: any) => typeof b?.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(b.digest))
    const auth = image.username != null ? `${encodeURIComponent(image.username)}:${encodeURIComponent(image.password ?? '')}@` : ''
    return blobs.map((b: any) => ({
      url: `oci://${auth}${image.host}/${image.name}/blobs/${b.digest}`,
      path: b.digest.replace(':', '-'),
      contentLength: typeof b.size === 'number' ? b.size : -1,
      digest: b.digest
    }))
  }

  private async manifest (image: OciImageRef, reference: string, headers: Record<string, string>): Promise<any> {
    const ref: OciRef = { ...image, digest: '' }
    const plain = this.init.plainHttp === true || LOOPBACK.test(ref.host) || (Array.isArray(this.init.plainHttp) && this.init.plainHttp.includes(ref.host))
    const target = `${plain ? 'http' : 'https'}://${ref.host}/v2/${ref.name}/manifests/${reference}`
    // a registry answers OCI manifests only to clients that list the OCI media types
    const accept = [
      'application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.docker.distribution.manifest.v2+json'
    ].join(', ')
    const res = await this.authorised(ref, headers, undefined, async (h) => await this.http.send(target, { headers: { ...h, accept } }))
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => {})
      throw new OriginError(`registry answered ${res.statusCode} for manifest ${ref.name}:${reference}`, res.statusCode)
    }
    return await res.body.json()
  }

  /** Sends with what worked before; on a 401 answers the challenge once and sends again. */
  private async authorised (ref: OciRef, headers: Record<string, string>, signal: AbortSignal | undefined,
    send: (h: Record<string, string>) => Promise<Dispatcher.ResponseData>): Promise<Dispatcher.ResponseData> {
    // a caller-given bearer token (-H) is the caller's business; caller-given basic
    // credentials are credentials: for the registry or its token realm, as it asks
    const given = Object.keys(headers).find((k) => k.toLowerCase() === 'authorization')
    if (given != null) {
      const basic = /^Basic\s+(\S+)$/i.exec(headers[given])
      if (basic == null) return await send(headers)
      const [user, ...rest] = Buffer.from(basic[1], 'base64').toString().split(':')
      ref = { ...ref, username: ref.username ?? user, password: ref.password ?? rest.join(':') }
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k !== given))
    }
    // per registry, repository and credential: a token one caller earned is never used for another
    const key = `${ref.host}/${ref.name}#${credentialTag(ref.username ?? this.init.username, ref.password ?? this.init.password)}`
    const known = this.auth.get(key)
    let res = await send(known != null && known !== '' ? { ...headers, authorization: known } : headers)
    if (res.statusCode !== 401) {
      if (known == null) this.auth.set(key, '')
      return res
    }
    const challenge = String(res.headers['www-authenticate'] ?? '')
    await res.body.dump().catch(() => {})
    const authorization = await this.answer(ref, challenge, signal)
    res = await send({ ...headers, authorization })
    if (res.statusCode === 401 || res.statusCode === 403) {
      await res.body.dump().catch(() => {})
      this.auth.delete(key)
      throw new OriginAuthError(`registry ${ref.host} refused access to ${ref.name} (${res.statusCode})`, res.statusCode)
    }
    this.auth.set(key, authorization)
    return res
  }

  private async answer (ref: OciRef, header: string, signal?: AbortSignal): Promise<string> {
    const { scheme, params } = parseChallenge(header)
    const user = ref.username ?? this.init.username
    const pass = ref.password ?? this.init.password ?? ''
    const basic = user != null ? `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` : undefined
    if (scheme === 'basic') {
      if (basic == null) throw new OriginAuthError(`registry ${ref.host} asks for credentials (--registry-user / DAMSELFLY_REGISTRY_USER)`, 401)
      return basic
    }
    if (scheme !== 'bearer' || params.realm == null) {
      throw new OriginAuthError(`registry ${ref.host} answered 401 with an unusable challenge ${JSON.stringify(scheme)}`, 401)
    }
    const realm = new URL(params.realm)
    // the operator's own login goes only to a token service on the registry's own host (or one
    // allow-listed): a registry must not be able to name any realm and collect the password
    const own = ref.username == null && this.init.username != null
    if (own && basic != null && realm.hostname !== ref.host.replace(/:\d+$/, '') && !(this.init.trustedRealms ?? []).includes(realm.host)) {
      throw new OriginAuthError(`registry ${ref.host} sends credentials to token service ${realm.host}; allow it with trustedRealms`, 401)
    }
    if (params.service != null) realm.searchParams.set('service', params.service)
    realm.searchParams.set('scope', params.scope ?? `repository:${ref.name}:pull`)
    const res = await this.http.send(realm.toString(), { headers: basic != null ? { authorization: basic } : {}, signal })
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => {})
      if (res.statusCode === 401 || res.statusCode === 403) throw new OriginAuthError(`token service ${realm.host} refused the credentials (${res.statusCode})`, res.statusCode)
      throw new OriginError(`token service ${realm.host} answered ${res.statusCode}`, res.statusCode)
    }
    const body = await res.body.json() as { token?: string, access_token?: string }
    const token = body.token ?? body.access_token
    if (typeof token !== 'string' || token === '') throw new OriginAuthError(`token service ${realm.host} sent no token`)
    return `Bearer ${token}`
  }
}
