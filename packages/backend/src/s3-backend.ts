import { Agent as HttpsAgent } from 'node:https'
import { rootCertificates } from 'node:tls'
import { InvalidUrlError, OriginAuthError, OriginError, OriginTimeoutError } from '@damselfly/types'
import type { Backend, GetOptions, GetResult, ListOptions, ObjectEntry, ObjectStat } from '@damselfly/types'
import { redactUrl } from '@damselfly/utils'
import type { S3Client } from '@aws-sdk/client-s3'

export interface S3BackendInit {
  /** e.g. `http://127.0.0.1:4568` for an S3-compatible store; none = AWS */
  endpoint?: string
  /** @default 'us-east-1' */
  region?: string
  /** none = the SDK's default chain (environment, profile, instance role) */
  credentials?: { accessKeyId: string, secretAccessKey: string, sessionToken?: string }
  /**
   * send requests unsigned, never with any credentials (not even the SDK's default chain):
   * what a seed does for a bucket the operator has not allow-listed for its own keys
   */
  anonymous?: boolean
  /**
   * `endpoint/bucket/key` rather than `bucket.endpoint/key`
   * @default true when an endpoint is given
   */
  forcePathStyle?: boolean
  /** PEM CA bundle trusted in addition to the system's */
  ca?: string | Buffer
  /** @default 5 */
  maxAttempts?: number
  /** @default 30000 */
  requestTimeoutMs?: number
}

/** `s3://bucket/key` (the key percent-decoded) */
export function parseS3Url (url: string): { bucket: string, key: string } {
  let u: URL
  try { u = new URL(url) } catch { throw new InvalidUrlError(`not a URL: ${JSON.stringify(url)}`) }
  const key = decodeURIComponent(u.pathname.slice(1))
  if (u.protocol !== 's3:' || u.hostname === '' || key === '') throw new InvalidUrlError(`S3 URLs look like s3://bucket/key, got ${redactUrl(url)}`)
  return { bucket: u.hostname, key }
}

/**
 * Objects of S3 and S3-compatible stores: HeadObject for the size and ETag,
 * ranged GetObject for the bytes. The SDK (loaded on first use: it is large)
 * signs the requests and retries throttling and 5xx answers itself.
 */
export class S3Backend implements Backend {
  readonly schemes = ['s3']
  private client?: Promise<S3Client>

  constructor (private readonly init: S3BackendInit = {}) {}

  private async s3 (): Promise<S3Client> {
    this.client ??= (async () => {
      const { S3Client } = await import('@aws-sdk/client-s3')
      const { NodeHttpHandler } = await import('@smithy/node-http-handler')
      const ca = this.init.ca
      return new S3Client({
        region: this.init.region ?? 'us-east-1',
        endpoint: this.init.endpoint,
        forcePathStyle: this.init.forcePathStyle ?? this.init.endpoint != null,
        credentials: this.init.anonymous === true ? { accessKeyId: '', secretAccessKey: '' } : this.init.credentials,
        ...(this.init.anonymous === true ? { signer: { sign: async (request: any) => request } } : {}),
        maxAttempts: this.init.maxAttempts ?? 5,
        requestHandler: new NodeHttpHandler({
          requestTimeout: this.init.requestTimeoutMs ?? 30_000,
          httpsAgent: ca != null ? new HttpsAgent({ keepAlive: true, ca: [...rootCertificates, String(ca)] }) : undefined
        })
      })
    })()
    return await this.client
  }

  async stat (url: string, _headers: Record<string, string>, signal?: AbortSignal): Promise<ObjectStat> {
    const { bucket, key } = parseS3Url(url)
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3')
    try {
      const out = await (await this.s3()).send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal })
      const headers: Record<string, string> = {}
      if (out.ETag != null) headers.etag = out.ETag
      if (out.ContentType != null) headers['content-type'] = out.ContentType
      if (out.LastModified != null) headers['last-modified'] = out.LastModified.toUTCString()
      return { contentLength: out.ContentLength ?? -1, supportsRange: true, headers, finalUrl: url }
    } catch (err) { throw s3Error(err, url) }
  }

  async get (url: string, _headers: Record<string, string>, options: GetOptions): Promise<GetResult> {
    const { bucket, key } = parseS3Url(url)
    const { GetObjectCommand } = await import('@aws-sdk/client-s3')
    const start = options.start ?? 0
    const ranged = start > 0 || options.end != null
    try {
      const out = await (await this.s3()).send(new GetObjectCommand({
        Bucket: bucket, Key: key, Range: ranged ? `bytes=${start}-${options.end ?? ''}` : undefined
      }), { abortSignal: options.signal })
      const headers: Record<string, string> = {}
      if (out.ETag != null) headers.etag = out.ETag
      return {
        status: out.ContentRange != null ? 206 : 200,
        start: out.ContentRange != null ? start : 0,
        body: out.Body as AsyncIterable<Uint8Array>,
        contentLength: out.ContentLength ?? -1,
        headers
      }
    } catch (err) { throw s3Error(err, url) }
  }

  /**
   * Recursively, `s3://bucket/key` names that object when it exists, otherwise every
   * object under `key/`, listed with ListObjectsV2. Alone it names one object, and S3
   * vouches for no digest up front: nothing to ask.
   */
  async list (url: string, _headers: Record<string, string>, options: ListOptions = {}): Promise<ObjectEntry[]> {
    const { bucket, key } = parseS3Url(url)
    if (options.recursive !== true) return [{ url, path: key.split('/').pop()!, contentLength: -1 }]
    const signal = options.signal
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3')
    const dir = key.endsWith('/') ? key : `${key}/`
    const exact: ObjectEntry[] = []
    const under: ObjectEntry[] = []
    let token: string | undefined
    try {
      do {
        const out = await (await this.s3()).send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token }), { abortSignal: signal })
        for (const o of out.Contents ?? []) {
          if (o.Key == null) continue
          const entry = { url: `s3://${bucket}/${o.Key.split('/').map(encodeURIComponent).join('/')}`, contentLength: o.Size ?? -1 }
          if (o.Key === key) exact.push({ ...entry, path: key.split('/').pop()! })
          else if (o.Key.startsWith(dir) && !o.Key.endsWith('/')) under.push({ ...entry, path: o.Key.slice(dir.length) })
        }
        token = out.IsTruncated === true ? out.NextContinuationToken : undefined
      } while (token != null)
    } catch (err) { throw s3Error(err, url) }
    if (exact.length > 0) return exact
    if (under.length === 0) throw new OriginError(`S3 answered 404: no object or prefix ${key} in ${bucket}`, 404)
    return under
  }

  async close (): Promise<void> {
    if (this.client != null) (await this.client).destroy()
  }
}

function s3Error (err: any, url: string): Error {
  if (err?.name === 'AbortError') return err
  const status: number | undefined = err?.$metadata?.httpStatusCode
  const what = `${String(err?.name ?? 'Error')} for ${url}`
  if (status === 401 || status === 403) return new OriginAuthError(`S3 refused ${what} (${status})`, status, { cause: err })
  // no keys to sign with: nothing can show the origin lets this caller read the object, so it is a
  // refusal (a peer's access check must deny, not wave it through as "origin unreachable")
  if (err?.name === 'CredentialsProviderError') return new OriginAuthError(`no S3 credentials to sign the request for ${redactUrl(url)} with (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)`, 401, { cause: err })
  if (err?.name === 'TimeoutError' || err?.code === 'ETIMEDOUT') return new OriginTimeoutError(`S3 timed out: ${what}`, { cause: err })
  if (status != null) return new OriginError(`S3 answered ${status}: ${what}`, status, { cause: err })
  return new OriginError(`cannot reach S3: ${String(err?.code ?? err?.message)} (${redactUrl(url)})`, undefined, { cause: err })
}
