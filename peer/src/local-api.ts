import Fastify, { type FastifyInstance } from 'fastify'
import { errorInfo, InvalidRequestError, type ProgressEvent, type TaskRequest } from '@damselfly/types'
import { taskIdFor } from '@damselfly/utils'
import { exportTo, type PeerEngine } from '@damselfly/task-engine'

export interface DownloadBody extends TaskRequest {
  /** where the daemon writes the finished file (same host as the daemon) */
  output?: string
  disableBackToSource?: boolean
  timeoutMs?: number
  /** false: copy the output instead of hard-linking it to the cache @default true */
  hardLink?: boolean
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
    try { taskId = taskIdFor(request) } catch (err) { return await reply.code(400).send({ error: errorInfo(err) }) }
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
