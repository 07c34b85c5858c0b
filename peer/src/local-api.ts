import { createReadStream } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import { isAbsolute } from 'node:path'
import { httpError, TaskNotFoundError, errorInfo, InvalidRequestError, UnauthorizedError, type ProgressEvent, type TaskRequest, type TaskStats } from '@damselfly/types'
import { bearerMatches, redactUrl, taskIdFor, parseRate, NO_SCHEMA_COMPILERS } from '@damselfly/utils'
import { exportTarget, exportTo, type PeerEngine, type RateLimits } from '@damselfly/task-engine'
import type { TaskStore } from '@damselfly/storage'

/** read size for a task's bytes sent to a client: 1 MiB reads, 16x fewer read and write calls than the 64 KiB default */
const CONTENT_CHUNK_BYTES = 1024 * 1024

declare module 'fastify' {
  interface FastifyContextConfig {
    /** a GET that still needs the token (it hands out cached content) */
    auth?: boolean
  }
}

export interface DownloadBody extends TaskRequest {
  /** where the daemon writes the finished file: an absolute path under one of its export roots */
  output?: string
  disableBackToSource?: boolean
  timeoutMs?: number
  /** false: copy the output instead of hard-linking it to the cache @default true */
  hardLink?: boolean
  /** bytes/s (or "10MiB") for the download this request starts (dfget --ratelimit, get --limit-rate); 0 = none */
  rateLimit?: number | string
  /** false: no `progress` events, only `started` and the result (a client showing no bar) @default true */
  progress?: boolean
}

const RATE_KEYS = ['uploadRate', 'downloadRate', 'backToSourceRate', 'backToSourceTaskRate'] as const
/** limits that count origin requests, with the least each may be */
const COUNT_KEYS = { backToSourceConcurrency: 0, backToSourceTaskConcurrency: 1 } as const

/** A PUT body's limits, rates as numbers or sizes ("10MiB/s"); anything else is a clear 400. */
function parseLimits (body: unknown): Partial<RateLimits> {
  if (body == null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidRequestError('body must be a JSON object of limits')
  const out: Partial<RateLimits> = {}
  for (const [k, v] of Object.entries(body)) {
    if ((RATE_KEYS as readonly string[]).includes(k)) {
      if (typeof v !== 'number' && typeof v !== 'string') throw new InvalidRequestError(`${k} must be bytes per second (a number or a size like "10MiB")`)
      try { out[k as typeof RATE_KEYS[number]] = parseRate(v) } catch (err: any) { throw new InvalidRequestError(`${k}: ${err.message}`) }
    } else if (k in COUNT_KEYS) {
      const least = COUNT_KEYS[k as keyof typeof COUNT_KEYS]
      if (typeof v !== 'number' || !Number.isInteger(v) || v < least) throw new InvalidRequestError(`${k} must be an integer of at least ${least}`)
      out[k as keyof typeof COUNT_KEYS] = v
    } else {
      throw new InvalidRequestError(`unknown limit ${JSON.stringify(k)}; known: ${[...RATE_KEYS, ...Object.keys(COUNT_KEYS)].join(', ')}`)
    }
  }
  return out
}

export interface LocalApiInit {
  /** every request that changes something, or reads cached content, must present `Bearer <token>` */
  token: string
  /** directories outputs may be written under; none = the API writes no files @default [] */
  exportRoots?: string[]
}

/** What a task looks like to API clients: its URL without credentials. */
function shown (s: TaskStats): TaskStats {
  return { ...s, url: redactUrl(s.url) }
}

/**
 * The daemon's local API, used by `damselfly get`: a download answers with
 * newline-delimited JSON progress events, the last one `done` or `error`.
 * Reads of status are open; anything else wants the token, because any
 * workload on the host can reach a loopback port.
 */
export function buildLocalApi (engine: PeerEngine, info: () => Record<string, unknown>, init: LocalApiInit): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, schemaController: NO_SCHEMA_COMPILERS })
  const roots = init.exportRoots ?? []

  app.addHook('onRequest', async (req, reply) => {
    const open = (req.method === 'GET' || req.method === 'HEAD') && reply.routeOptions.config?.auth !== true
    if (open || bearerMatches(req.headers.authorization, init.token)) return
    reply.header('www-authenticate', 'Bearer realm="damselfly"')
    throw new UnauthorizedError('this request needs the daemon\'s API token (Authorization: Bearer …); it is in <dataDir>/api-token or DAMSELFLY_API_TOKEN')
  })
  // one mapping of errors to statuses, for the hook and every route
  app.setErrorHandler(async (err, _req, reply) => {
    const { status, body } = httpError(err)
    return await reply.code(status).send(body)
  })

  app.get('/healthz', async () => ({ ok: true }))
  app.get('/readyz', async (_req, reply) => {
    const ready = engine.scheduler == null || engine.scheduler.connected
    return await reply.code(ready ? 200 : 503).send({ ok: ready, scheduler: engine.scheduler?.connected ?? null })
  })
  app.get('/api/v1/info', async () => ({ ...info(), exportRoots: roots }))
  app.get('/api/v1/tasks', async () => engine.taskStats().map(shown))
  app.get<{ Params: { id: string } }>('/api/v1/tasks/:id', async (req) => {
    const d = engine.getDownload(req.params.id)
    if (d == null) throw new TaskNotFoundError('no such task')
    return shown(d.stats)
  })
  // the bytes of a finished task, for a client that writes its output itself (outside the export roots)
  app.get<{ Params: { id: string } }>('/api/v1/tasks/:id/content', { config: { auth: true } }, async (req, reply) => {
    const d = engine.getDownload(req.params.id)
    if (d == null || d.stats.state !== 'succeeded') throw new TaskNotFoundError('no finished task with that id')
    return await reply.type('application/octet-stream').header('content-length', d.store.contentLength).send(createReadStream(d.store.dataPath, { highWaterMark: CONTENT_CHUNK_BYTES }))
  })

  // cache import / stat / delete (dfcache): the file is read by the daemon, on its host, from under its export roots
  app.post<{ Body: { path?: string, url?: string, pieceLength?: number } }>('/api/v1/cache/import', async (req) => {
    const b = req.body
    if (b == null || typeof b.path !== 'string' || !isAbsolute(b.path) || typeof b.url !== 'string' || b.url === '') throw new InvalidRequestError('body must be JSON with an absolute path and a url')
    // the daemon reads the file as its own user and serves it to the swarm: only files under its export roots (never /etc/…)
    const path = await exportTarget(b.path, roots)
    return cacheStat(await engine.importFile(path, { url: b.url, pieceLength: b.pieceLength }))
  })
  app.get<{ Params: { id: string } }>('/api/v1/cache/:id', async (req) => {
    const store = await engine.store.get(req.params.id)
    if (store == null) throw new TaskNotFoundError('no such task')
    return cacheStat(store)
  })
  app.delete<{ Params: { id: string } }>('/api/v1/cache/:id', async (req, reply) => {
    let removed: boolean
    try {
      removed = await engine.removeTask(req.params.id)
    } catch (err) {
      // in use (a download or an upload holds it)
      return await reply.code(409).send({ error: errorInfo(err) })
    }
    if (!removed) throw new TaskNotFoundError('no such task')
    return await reply.code(204).send()
  })

  // the limits as they are, and each limiter's current rate: what an operator checks after changing them
  const limitsView = (): unknown => ({ ...engine.limits, current: engine.currentRates(), waitSeconds: engine.limitWaitSeconds() })
  app.get('/api/v1/limits', async () => limitsView())
  // changes only the limits named; transfers under way draw on the new rates from their next chunk
  app.put('/api/v1/limits', async (req, reply) => {
    try {
      engine.setLimits(parseLimits(req.body))
    } catch (err) {
      return await reply.code(400).send({ error: errorInfo(err) })
    }
    return limitsView()
  })

  app.post<{ Body: DownloadBody }>('/api/v1/download', async (req, reply) => {
    const body = req.body
    if (body == null || typeof body.url !== 'string' || body.url === '') throw new InvalidRequestError('body must be JSON with a url')
    // refused before anything is fetched or created
    const output = body.output != null && body.output !== '' ? await exportTarget(body.output, roots) : undefined
    const request: TaskRequest = {
      url: body.url,
      headers: body.headers,
      tag: body.tag,
      application: body.application,
      filteredQueryParams: body.filteredQueryParams,
      pieceLength: body.pieceLength,
      digest: body.digest,
      range: body.range
    }
    let taskId: string
    let rateLimit: number | undefined
    try {
      taskId = taskIdFor(request)
      rateLimit = body.rateLimit != null ? parseRate(body.rateLimit) : undefined
    } catch (err) { throw new InvalidRequestError((err as Error).message) }
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' })
    const write = (e: ProgressEvent): void => { if (!reply.raw.destroyed) reply.raw.write(JSON.stringify(e) + '\n') }
    try {
      const { store, stats } = await engine.download(request, (d) => {
        write({ type: 'started', taskId, contentLength: d.stats.contentLength, pieceLength: d.stats.pieceLength })
        if (body.progress === false) return
        // progress at most every 100 ms; the download itself does not wait for slow API clients
        let last = 0
        const onProgress = (): void => {
          const now = Date.now()
          if (now - last < 100) return
          last = now
          write({ type: 'progress', taskId, bytesDone: d.stats.bytesDone, contentLength: d.stats.contentLength })
        }
        d.on('progress', onProgress)
        d.finished.finally(() => d.off('progress', onProgress)).catch(() => {})
      }, { disableBackToSource: body.disableBackToSource, timeoutMs: body.timeoutMs, rateLimit })
      const written = output != null ? await exportTo(store.dataPath, output, { digest: body.digest, hardLink: body.hardLink, roots }) : undefined
      write({ type: 'done', taskId, stats: shown(stats), output: written })
    } catch (err) {
      write({ type: 'error', taskId, error: errorInfo(err) })
    }
    reply.raw.end()
    return reply
  })
  return app
}

function cacheStat (store: TaskStore): Record<string, unknown> {
  return {
    taskId: store.taskId,
    url: store.url,
    contentLength: store.initialised ? store.contentLength : -1,
    pieceLength: store.initialised ? store.pieceLength : 0,
    pieceCount: store.initialised ? store.pieceCount : 0,
    piecesDone: store.initialised ? store.bitfield.cardinality : 0,
    complete: store.complete
  }
}
