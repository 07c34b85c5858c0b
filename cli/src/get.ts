import { Command, Option, InvalidArgumentError } from 'commander'
import type { IncomingMessage } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { addBackendOptions, backendsInitFrom, type BackendFlags } from './backend-options.js'
// the units module alone: the whole utils package would load pino and BLAKE3 at every start
import { parseRate } from '@damselfly/utils/units'
import { defaultPeerDataDir, readApiToken } from '@damselfly/peer/api-token'
import { errorInfo, DownloadTimeoutError, InvalidRequestError, type ObjectEntry, type ProgressEvent, type TaskRequest } from '@damselfly/types'

// not `import … from 'node:http'`: node's ESM facade of a builtin reads every export, and
// node:http's lazy WebSocket/EventSource getters then load node's internal undici, zlib and web
// streams — ~30% of this command's start-up, paid by each of the many gets a swarm starts at once
const { request } = process.getBuiltinModule('node:http') as typeof import('node:http')

export const DEFAULT_API = 'http://127.0.0.1:65002'

/** Exit codes, documented in the README. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNREACHABLE: 3 } as const

export interface GetOptions extends BackendFlags {
  output: string
  api?: string
  /** the daemon's data dir, whose `api-token` this client presents @default ~/.damselfly/peer */
  dataDir?: string
  header?: string[]
  digest?: string
  tag?: string
  application?: string
  filteredQueryParam?: string[]
  pieceLength?: number
  timeout?: number
  disableBackToSource?: boolean
  /** bytes/s for this download (each file's, with -r), from peers and the origin together; 0 = unlimited */
  limitRate?: number
  progress?: boolean
  /** false: copy out of the daemon cache instead of hard-linking @default true */
  hardLink?: boolean
  json?: boolean
  standalone?: boolean
  /** the URL names a tree (an hf:// repo or directory, an s3:// prefix): `output` is a directory */
  recursive?: boolean
}

export function parseHeaders (list: string[] = []): Record<string, string> {
  const out: Record<string, string> = {}
  for (const h of list) {
    const i = h.indexOf(':')
    if (i <= 0) throw new Error(`header must look like "Name: value", got ${JSON.stringify(h)}`)
    out[h.slice(0, i).trim()] = h.slice(i + 1).trim()
  }
  return out
}

/**
 * Downloads through the local daemon, or standalone from the origin when none answers.
 * A URL whose backend lists objects (hf://, oci://, s3://) is listed first: each file then
 * becomes its own task, with the digest the origin vouches for (content-addressed task
 * id, verified output) and, under `-r`, its place in the output directory.
 */
export async function runGet (url: string, opts: GetOptions): Promise<number> {
  let entries: ObjectEntry[] | undefined
  try {
    entries = await listObjects(url, opts)
  } catch (err) {
    return fail(opts, resolve(opts.output), 'list', errorInfo(err))
  }
  if (entries == null || (opts.recursive !== true)) {
    return await getOne(entries?.[0]?.url ?? url, { ...opts, digest: opts.digest ?? entries?.[0]?.digest })
  }
  const dir = resolve(opts.output)
  const { safeJoin } = await import('@damselfly/utils')
  let targets: Array<{ entry: ObjectEntry, output: string }>
  try {
    targets = entries.map((entry) => ({ entry, output: safeJoin(dir, entry.path) }))
  } catch (err) {
    return fail(opts, dir, 'list', errorInfo(err))
  }
  for (const t of targets) {
    const code = await getOne(t.entry.url, { ...opts, output: t.output, digest: t.entry.digest })
    if (code !== EXIT.OK) return code
  }
  return EXIT.OK
}

async function listObjects (url: string, opts: GetOptions): Promise<ObjectEntry[] | undefined> {
  // plain http(s) never lists: skip loading the backends (and their HTTP client) on the common path
  if (/^https?:/i.test(url)) return notListable(url, opts)
  const { createBackends } = await import('@damselfly/backend')
  const backends = createBackends(backendsInitFrom(opts))
  try {
    let backend
    try { backend = backends.forUrl(url) } catch { return undefined }
    if (backend.list == null) return notListable(url, opts)
    return await backend.list(url, parseHeaders(opts.header), { recursive: opts.recursive === true })
  } finally {
    await backends.close()
  }
}

/** A URL that names one file: fine, unless the user asked for a tree. */
function notListable (url: string, opts: GetOptions): undefined {
  if (opts.recursive === true) throw new InvalidRequestError(`-r needs an origin that lists files (hf://, s3://), not ${url.split(':')[0]}://`)
  return undefined
}

function fail (opts: GetOptions, output: string, mode: string, error: { name: string, code: string, message: string }): number {
  if (opts.json === true) process.stdout.write(JSON.stringify({ ok: false, mode, output, error }) + '\n')
  else process.stderr.write(`damselfly get: ${error.message} (${error.code})\n`)
  return EXIT.FAILED
}

/**
 * `user:pass@` in a URL becomes an `Authorization: Basic` header: the URL is the task's
 * name, shown in results, stats and the scheduler, and must not carry a password there.
 */
export function credentialsToHeader (url: string, headers: Record<string, string>): { url: string, headers: Record<string, string> } {
  let u: URL
  try { u = new URL(url) } catch { return { url, headers } }
  if (u.username === '' && u.password === '') return { url, headers }
  const basic = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')
  u.username = ''
  u.password = ''
  const has = Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')
  return { url: u.toString(), headers: has ? headers : { ...headers, authorization: `Basic ${basic}` } }
}

async function getOne (rawUrl: string, opts: GetOptions): Promise<number> {
  const { url, headers } = credentialsToHeader(rawUrl, parseHeaders(opts.header))
  const req: TaskRequest = {
    url,
    headers,
    digest: opts.digest,
    tag: opts.tag,
    application: opts.application,
    filteredQueryParams: opts.filteredQueryParam,
    pieceLength: opts.pieceLength
  }
  const output = resolve(opts.output)
  const api = opts.api ?? process.env.DAMSELFLY_API ?? DEFAULT_API
  const started = Date.now()
  const cliProgress = opts.progress !== false && opts.json !== true && process.stderr.isTTY ? (await import('cli-progress')).default : undefined
  const bar = cliProgress != null
    ? new cliProgress.SingleBar({ format: '{bar} {percentage}% | {value}/{total} MiB | {speed} MiB/s', stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined
  const report = bar == null ? undefined : (e: ProgressEvent): void => {
    if (e.type === 'started' && e.contentLength > 0) bar.start(mib(e.contentLength), 0, { speed: '0' })
    if (e.type === 'progress') {
      if (e.contentLength > 0 && bar.getTotal() !== mib(e.contentLength)) bar.start(mib(e.contentLength), 0, { speed: '0' })
      bar.update(mib(e.bytesDone), { speed: (e.bytesDone / 1048576 / ((Date.now() - started) / 1000)).toFixed(1) })
    }
  }
  let result: ProgressEvent | undefined
  let mode = 'daemon'
  try {
    result = opts.standalone === true ? undefined : await viaDaemon(api, req, output, opts, report)
    if (result == null) {
      mode = 'standalone'
      result = await standalone(req, output, opts)
    }
  } catch (err) {
    result = { type: 'error', error: errorInfo(err) }
  } finally {
    bar?.stop()
  }
  const seconds = (Date.now() - started) / 1000
  if (result.type === 'done') {
    if (opts.json === true) process.stdout.write(JSON.stringify({ ok: true, mode, output, seconds, ...result.stats }) + '\n')
    else if (opts.progress !== false) process.stderr.write(`downloaded ${result.stats.contentLength} bytes to ${output} in ${seconds.toFixed(2)}s (${mode})\n`)
    return EXIT.OK
  }
  return fail(opts, output, mode, result.type === 'error' ? result.error : { name: 'Error', code: 'ERR_INTERNAL', message: 'no result' })
}

/**
 * The local API's token: DAMSELFLY_API_TOKEN, else the `api-token` file in the daemon's data
 * dir (`--data-dir`, DAMSELFLY_DATA_DIR, the default peer data dir), when this user may read it.
 */
export async function apiToken (opts: { dataDir?: string }): Promise<string | undefined> {
  const env = process.env.DAMSELFLY_API_TOKEN
  if (env != null && env !== '') return env
  return await readApiToken(opts.dataDir ?? process.env.DAMSELFLY_DATA_DIR ?? defaultPeerDataDir())
}

/**
 * undefined when no daemon answers (the caller goes standalone). The daemon writes the output
 * itself only under its export roots; elsewhere it says so before fetching anything, and this
 * process then writes the file from the bytes the daemon streams back (as this user, with the
 * same temporary name, digest check and rename).
 */
async function viaDaemon (api: string, req: TaskRequest, output: string, opts: GetOptions, report?: (e: ProgressEvent) => void): Promise<ProgressEvent | undefined> {
  const token = await apiToken(opts)
  // no bar, no progress events: a swarm's many gets each woke ten times a second for nothing
  const body = { ...req, disableBackToSource: opts.disableBackToSource, timeoutMs: opts.timeout, hardLink: opts.hardLink, rateLimit: opts.limitRate, progress: report != null }
  const first = await daemonDownload(api, { ...body, output }, token, report)
  if (first?.type !== 'error' || first.error.code !== 'ERR_EXPORT_FORBIDDEN') return first
  const done = await daemonDownload(api, body, token, report)
  if (done?.type !== 'done') return done
  const res = await httpRequest(new URL(`/api/v1/tasks/${done.taskId}/content`, api), 'GET', token, undefined, DAEMON_HEADERS_TIMEOUT_MS)
  if (res.statusCode !== 200) return await errorOf(res)
  const { exportStream } = await import('@damselfly/task-engine/export')
  return { ...done, output: await exportStream(res, output, { digest: req.digest }) }
}

async function daemonDownload (api: string, body: Record<string, unknown>, token: string | undefined, report?: (e: ProgressEvent) => void): Promise<ProgressEvent | undefined> {
  let res
  try {
    res = await httpRequest(new URL('/api/v1/download', api), 'POST', token, body, DAEMON_HEADERS_TIMEOUT_MS)
  } catch (err: any) {
    if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNTIMEOUT'].includes(err.code)) return undefined
    throw err
  }
  if (res.statusCode !== 200) return await errorOf(res)
  const lines = jsonLines(res)
  let last: ProgressEvent | undefined
  for await (const line of lines) {
    const e = JSON.parse(line) as ProgressEvent
    report?.(e)
    if (e.type === 'done' || e.type === 'error') last = e
  }
  return last ?? { type: 'error', error: { name: 'Error', code: 'ERR_DAEMON', message: 'daemon closed the stream without a result' } }
}

/** The daemon's JSON error answer as a result. */
async function errorOf (res: IncomingMessage): Promise<ProgressEvent> {
  let body = ''
  for await (const line of jsonLines(res)) body += line
  let error
  try { error = JSON.parse(body).error } catch {}
  if (res.statusCode === 401) error = { name: 'UnauthorizedError', code: 'ERR_UNAUTHORIZED', message: 'the daemon wants its API token: set DAMSELFLY_API_TOKEN, or --data-dir to a data dir whose api-token this user may read' }
  return { type: 'error', error: error ?? { name: 'Error', code: 'ERR_HTTP', message: `daemon answered ${String(res.statusCode)}` } }
}

const DAEMON_HEADERS_TIMEOUT_MS = 10_000

/**
 * Talks to the local daemon with node's own HTTP client: `get` runs once per file, and
 * undici would cost it ~100 modules and a WebAssembly parser to compile at every start.
 * Only the wait for the response head is bounded; the body (progress events, content) may
 * take as long as the download.
 */
async function httpRequest (url: URL, method: 'GET' | 'POST', token: string | undefined, body: unknown, headersTimeoutMs: number): Promise<IncomingMessage> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const headers: Record<string, string | number> = payload != null ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}
  if (token != null) headers.authorization = `Bearer ${token}`
  return await new Promise((resolve, reject) => {
    const req = request(url, { method, headers })
    let connected = false
    req.once('socket', (socket) => { socket.once('connect', () => { connected = true }) })
    // not even connected: no daemon there (the caller goes standalone); connected but silent: an error
    const timer = setTimeout(() => { req.destroy(Object.assign(new Error(`daemon ${url.origin} did not answer within ${headersTimeoutMs} ms`), { code: connected ? 'ETIMEDOUT' : 'ECONNTIMEOUT' })) }, headersTimeoutMs)
    req.once('response', (res) => { clearTimeout(timer); resolve(res) })
    req.once('error', (err) => { clearTimeout(timer); reject(err) })
    req.end(payload)
  })
}

/** The non-empty lines of a response body. */
async function * jsonLines (res: IncomingMessage): AsyncGenerator<string> {
  let pending = ''
  res.setEncoding('utf8')
  for await (const chunk of res) {
    pending += chunk as string
    let nl
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl)
      pending = pending.slice(nl + 1)
      if (line.trim() !== '') yield line
    }
  }
  if (pending.trim() !== '') yield pending
}

/** No daemon: fetch from the origin in this process, still piece-hashed, digest-checked and renamed into place. */
async function standalone (req: TaskRequest, output: string, opts: GetOptions): Promise<ProgressEvent> {
  if (opts.disableBackToSource === true) {
    return { type: 'error', error: { name: 'BackToSourceDisabledError', code: 'ERR_BACK_TO_SOURCE_DISABLED', message: 'no daemon reachable and back-to-source is disabled' } }
  }
  // loaded here so that the common case, a download through the daemon, starts fast
  const [{ createHasher }, { PieceStore }, { fetchFromSource, exportTo }, { createBackends }, { createLogger, silentLogger, taskIdFor, initBlake3, RateLimiter }] = await Promise.all([
    import('@damselfly/hasher'), import('@damselfly/storage'), import('@damselfly/task-engine'), import('@damselfly/backend'), import('@damselfly/utils')
  ])
  await initBlake3()
  const taskId = taskIdFor(req)
  const dir = await mkdtemp(join(tmpdir(), 'damselfly-get-'))
  const store = new PieceStore({ dataDir: dir })
  const hasher = createHasher({ threads: 1 })
  const backends = createBackends(backendsInitFrom(opts))
  try {
    await store.start()
    await hasher.start()
    const ts = await store.open(taskId, req.url)
    const log = process.env.DAMSELFLY_LOG_LEVEL != null ? createLogger('get', process.env.DAMSELFLY_LOG_LEVEL) : silentLogger()
    // --timeout: the same DownloadTimeoutError a daemon gives, and nothing exported after it
    const signal = (opts.timeout ?? 0) > 0 ? AbortSignal.timeout(opts.timeout!) : undefined
    const timedOut = (): never => { throw new DownloadTimeoutError(`download did not finish within ${opts.timeout!} ms`) }
    const stat = await fetchFromSource({ backend: backends.forUrl(req.url), url: req.url, headers: req.headers ?? {}, store: ts, hasher, log, pieceLength: req.pieceLength, signal, limiters: (opts.limitRate ?? 0) > 0 ? [new RateLimiter(opts.limitRate)] : undefined })
      .catch((err) => { if (signal?.aborted === true) timedOut(); throw err })
    await ts.flush()
    if (signal?.aborted === true) timedOut()
    await exportTo(ts.dataPath, output, { digest: req.digest ?? stat?.digest })
    return {
      type: 'done',
      taskId,
      output,
      stats: {
        taskId, url: req.url, contentLength: ts.contentLength, pieceLength: ts.pieceLength, pieceCount: ts.pieceCount,
        piecesDone: ts.pieceCount, bytesDone: ts.contentLength, bytesFromOrigin: ts.contentLength, bytesFromSeed: 0,
        bytesFromPeers: 0, bytesUploaded: 0, digestMismatches: 0, state: 'succeeded', startedAt: 0
      }
    }
  } finally {
    await store.stop().catch(() => {})
    await hasher.stop()
    await backends.close()
    await rm(dir, { recursive: true, force: true })
  }
}

function mib (n: number): number { return Math.round(n / 1048576 * 10) / 10 }

function positiveInteger (v: string): number {
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(v)}`)
  return n
}

/** commander parser for a rate flag: bytes/s as parseRate reads them, a usage error otherwise */
export function rateArg (v: string): number {
  try { return parseRate(v) } catch (err: any) { throw new InvalidArgumentError(err.message) }
}

export function getCommand (): Command {
  return addBackendOptions(new Command('get'))
    .description('download a URL through the local peer daemon (standalone from the origin when no daemon answers)')
    .argument('<url>', 'URL to download: http(s)://, oci://host/name/blobs/sha256:…, s3://bucket/key, hf://[datasets/]owner/repo[/path][@rev]')
    .requiredOption('-O, --output <path>', 'where to write the file; it appears only once complete and verified')
    .addOption(new Option('--api <url>', 'local daemon API').env('DAMSELFLY_API'))
    .addOption(new Option('--data-dir <dir>', 'the daemon\'s data dir, whose api-token is presented (default ~/.damselfly/peer; DAMSELFLY_API_TOKEN wins)').env('DAMSELFLY_DATA_DIR'))
    .option('-H, --header <header...>', 'origin request header, "Name: value" (repeatable)')
    .option('--digest <digest>', 'expected content digest, e.g. sha256:<hex>; verified before the file appears')
    .option('--tag <tag>', 'tells apart tasks with the same URL')
    .option('--application <name>', 'caller application name (part of the task id)')
    .option('--filtered-query-param <name...>', 'query parameters ignored when computing the task id')
    .option('--piece-length <bytes>', 'fixed piece length', positiveInteger)
    .option('--timeout <ms>', 'give up after this long', positiveInteger)
    .option('--disable-back-to-source', 'fail instead of downloading from the origin when P2P cannot')
    .option('--limit-rate <rate>', 'bytes/s for this download, from peers and the origin together, e.g. 20MiB (curl\'s flag; 0 = unlimited)', rateArg)
    .option('--no-progress', 'no progress bar')
    .option('--no-hard-link', 'copy the file out of the daemon\'s cache instead of hard-linking it (use when you will modify the output in place)')
    .option('--standalone', 'do not use a daemon, download from the origin in this process')
    .option('-r, --recursive', 'download every file under the URL (hf:// repo or directory, s3:// prefix) into the directory -O')
    .option('--json', 'print one JSON line with the result on stdout')
    .addHelpText('after', `
Examples:
  damselfly get https://example.com/model.bin -O /tmp/model.bin
  damselfly get https://example.com/layer.tar --digest sha256:<hex> -O layer.tar --json
  damselfly get oci://registry:5000/library/app/blobs/sha256:<hex> -O layer.tar.gz
  damselfly get s3://bucket/path/model.bin --s3-endpoint http://127.0.0.1:9000 -O model.bin
  HF_TOKEN=hf_… damselfly get -r hf://openai-community/gpt2 -O ./gpt2
  damselfly get https://internal.example/file --ca-file ./corp-ca.pem -O file
  DAMSELFLY_API=http://127.0.0.1:65002 damselfly get http://origin/file -O file -H "Authorization: Bearer $TOKEN"

The daemon's API token comes from DAMSELFLY_API_TOKEN or <data dir>/api-token. The daemon
writes -O itself (hard-linked from its cache) only under its export roots; elsewhere it streams
the bytes and this command writes the file.

Exit codes: 0 downloaded and verified, 1 download failed, 2 bad usage.
`)
    .action(async (url: string, opts: GetOptions) => {
      process.exitCode = await runGet(url, opts)
    })
}
