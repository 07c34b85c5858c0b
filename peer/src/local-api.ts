import Fastify, { type FastifyInstance } from 'fastify'
import { errorInfo, InvalidRequestError, type ProgressEvent, type TaskRequest } from '@damselfly/types'
import { taskIdFor, parseRate } from '@damselfly/utils'
import { exportTo, type PeerEngine, type RateLimits } from '@damselfly/task-engine'

export interface DownloadBody extends TaskRequest {
  /** where the daemon writes the finished file (same host as the daemon) */
  output?: string
  disableBackToSource?: boolean
  timeoutMs?: number
  /** false: copy the output instead of hard-linking it to the cache @default true */
  hardLink?: boolean
  /** bytes/s (or "10MiB") for the download this request starts (dfget --ratelimit, get --limit-rate); 0 = none */
  rateLimit?: number | string
}

const RATE_KEYS = ['uploadRate', 'downloadRate', 'backToSourceRate', 'backToSourceTaskRate'] as const

/** A PUT body's limits, rates as numbers or sizes ("10MiB/s"); anything else is a clear 400. */
function parseLimits (body: unknown): Partial<RateLimits> {
  if (body == null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidRequestError('body must be a JSON object of limits')
  const out: Partial<RateLimits> = {}
  for (const [k, v] of Object.entries(body)) {
    if ((RATE_KEYS as readonly string[]).includes(k)) {
      if (typeof v !== 'number' && typeof v !== 'string') throw new InvalidRequestError(`${k} must be bytes per second (a number or a size like "10MiB")`)
      try { out[k as typeof RATE_KEYS[number]] = parseRate(v) } catch (err: any) { throw new InvalidRequestError(`${k}: ${err.message}`) }
    } else if (k === 'backToSourceConcurrency') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new InvalidRequestError('backToSourceConcurrency must be a non-negative integer')
      out.backToSourceConcurrency = v
    } else {
      throw new InvalidRequestError(`unknown limit ${JSON.stringify(k)}; known: ${[...RATE_KEYS, 'backToSourceConcurrency'].join(', ')}`)
    }
  }
  return out
}

/**
 * The daemon's local API, used by `damselfly get`: a download answers with
 * newline-delimited JSON progress events, the last one `done` or `error`.
 */
export function buildLocalApi (engine: PeerEngine, info: () => Record<string, unknown>): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 })
  app.get('/healthz', async () => ({ ok: true }))
  app.get('/readyz', async (_req, reply) => {
    const ready = engine.scheduler == null || engine.scheduler.connected
    return await reply.code(ready ? 200 : 503).send({ ok: ready, scheduler: engine.scheduler?.connected ?? null })
  })
  app.get('/api/v1/info', async () => info())
  app.get('/api/v1/tasks', async () => engine.taskStats())
  app.get<{ Params: { id: string } }>('/api/v1/tasks/:id', async (req, reply) => {
    const d = engine.getDownload(req.params.id)
    if (d == null) return await reply.code(404).send({ error: { code: 'ERR_TASK_NOT_FOUND', message: 'no such task' } })
    return d.stats
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
    if (body == null || typeof body.url !== 'string' || body.url === '') {
      const err = new InvalidRequestError('body must be JSON with a url')
      return await reply.code(400).send({ error: errorInfo(err) })
    }
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
    } catch (err) { return await reply.code(400).send({ error: errorInfo(err instanceof RangeError ? new InvalidRequestError(err.message) : err) }) }
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' })
    const write = (e: ProgressEvent): void => { if (!reply.raw.destroyed) reply.raw.write(JSON.stringify(e) + '\n') }
    try {
      const { store, stats } = await engine.download(request, (d) => {
        write({ type: 'started', taskId, contentLength: d.stats.contentLength, pieceLength: d.stats.pieceLength })
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
      let output: string | undefined
      if (body.output != null && body.output !== '') output = await exportTo(store.dataPath, body.output, { digest: body.digest, hardLink: body.hardLink })
      write({ type: 'done', taskId, stats, output })
    } catch (err) {
      write({ type: 'error', taskId, error: errorInfo(err) })
    }
    reply.raw.end()
    return reply
  })
  return app
}
