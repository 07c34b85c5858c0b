import { createReadStream } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import { DamselflyError, errorInfo, InvalidRequestError, UnauthorizedError, type ProgressEvent, type TaskRequest, type TaskStats } from '@damselfly/types'
import { bearerMatches, redactUrl, taskIdFor } from '@damselfly/utils'
import { exportTarget, exportTo, type PeerEngine } from '@damselfly/task-engine'

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
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 })
  const roots = init.exportRoots ?? []

  app.addHook('onRequest', async (req, reply) => {
    const open = (req.method === 'GET' || req.method === 'HEAD') && reply.routeOptions.config?.auth !== true
    if (open || bearerMatches(req.headers.authorization, init.token)) return
    reply.header('www-authenticate', 'Bearer realm="damselfly"')
    throw new UnauthorizedError('this request needs the daemon\'s API token (Authorization: Bearer …); it is in <dataDir>/api-token or DAMSELFLY_API_TOKEN')
  })
  // one mapping of errors to statuses, for the hook and every route
  app.setErrorHandler(async (err, _req, reply) => {
    const status = err instanceof DamselflyError ? err.status : (err as { statusCode?: number }).statusCode ?? 500
    return await reply.code(status).send({ error: errorInfo(err) })
  })

  app.get('/healthz', async () => ({ ok: true }))
  app.get('/readyz', async (_req, reply) => {
    const ready = engine.scheduler == null || engine.scheduler.connected
    return await reply.code(ready ? 200 : 503).send({ ok: ready, scheduler: engine.scheduler?.connected ?? null })
  })
  app.get('/api/v1/info', async () => ({ ...info(), exportRoots: roots }))
  app.get('/api/v1/tasks', async () => engine.taskStats().map(shown))
  app.get<{ Params: { id: string } }>('/api/v1/tasks/:id', async (req, reply) => {
    const d = engine.getDownload(req.params.id)
    if (d == null) return await reply.code(404).send({ error: { code: 'ERR_TASK_NOT_FOUND', message: 'no such task' } })
    return shown(d.stats)
  })
  // the bytes of a finished task, for a client that writes its output itself (outside the export roots)
  app.get<{ Params: { id: string } }>('/api/v1/tasks/:id/content', { config: { auth: true } }, async (req, reply) => {
    const d = engine.getDownload(req.params.id)
    if (d == null || d.stats.state !== 'succeeded') return await reply.code(404).send({ error: { code: 'ERR_TASK_NOT_FOUND', message: 'no finished task with that id' } })
    return await reply.type('application/octet-stream').header('content-length', d.store.contentLength).send(createReadStream(d.store.dataPath))
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
    try { taskId = taskIdFor(request) } catch (err) { throw new InvalidRequestError((err as Error).message) }
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
      }, { disableBackToSource: body.disableBackToSource, timeoutMs: body.timeoutMs })
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
