import { readdir, readFile, cp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { Bitfield, pieceCount } from '@damselfly/utils'
import { waitFor } from '@damselfly/testkit'

export { waitFor } from '@damselfly/testkit'

export interface TaskStatsView { taskId: string, bytesDone: number, piecesDone: number, pieceCount: number, state: string, bytesFromOrigin: number, bytesFromSeed: number, bytesFromPeers: number }

/** The tasks a daemon's local API reports; [] when it does not answer. */
export async function daemonTasks (api: string): Promise<TaskStatsView[]> {
  try {
    const res = await request(new URL('/api/v1/tasks', api), { headersTimeout: 2000, bodyTimeout: 2000 })
    if (res.statusCode !== 200) { await res.body.dump(); return [] }
    return await res.body.json() as TaskStatsView[]
  } catch { return [] }
}

/** Waits until the daemon's (only) running task has at least `minBytes` stored. */
export async function waitForProgress (api: string, minBytes: number, timeoutMs = 60_000): Promise<TaskStatsView> {
  return await waitFor(`${api} to store ${minBytes} bytes`, async () => {
    const t = (await daemonTasks(api)).find((s) => s.bytesDone >= minBytes)
    return t
  }, timeoutMs, 20)
}

/** Pieces a daemon's store has recorded as written and verified (its meta file), per task id. */
export async function storedPieces (dataDir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  const root = join(dataDir, 'tasks')
  for (const id of await readdir(root).catch(() => [] as string[])) {
    try {
      const meta = JSON.parse(await readFile(join(root, id, 'meta.json'), 'utf8'))
      out.set(id, Bitfield.fromBase64(pieceCount(meta.contentLength, meta.pieceLength), meta.have).cardinality)
    } catch {}
  }
  return out
}

/** Every log line the lab's processes wrote. */
export async function labLogs (logsDir: string): Promise<string> {
  const files = await readdir(logsDir)
  const parts = await Promise.all(files.filter((f) => f.endsWith('.log')).map(async (f) => await readFile(join(logsDir, f), 'utf8')))
  return parts.join('\n')
}

/** Copies a failed test's lab logs somewhere that outlives the test's cleanup, and says where. */
export async function keepLogsOnFailure (ctx: Mocha.Context, logsDir: string | undefined): Promise<void> {
  if (logsDir == null || ctx.currentTest?.state !== 'failed') return
  const to = join(tmpdir(), 'damselfly-failed-logs', (ctx.currentTest.title ?? 'test').replace(/[^a-z0-9]+/gi, '-').slice(0, 80))
  await cp(logsDir, to, { recursive: true }).catch(() => {})
  process.stderr.write(`    lab logs kept in ${to}\n`)
}
