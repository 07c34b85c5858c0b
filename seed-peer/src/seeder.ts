import { pieceRange, taskIdFor } from '@damselfly/utils'
import { errorInfo } from '@damselfly/types'
import { verifyFileDigest, requestOf, TaskReporter, type Seeder, type SeederComponents } from '@damselfly/task-engine'
import type { SeedRequest } from '@damselfly/proto'
import type { TaskStore } from '@damselfly/storage'

/**
 * The seed role: when the scheduler names this peer as a task's seed, it reads the task from the
 * origin through the same pipeline a download's back-to-source uses (fetch, hash, verify-and-store)
 * and publishes each piece's digest as it lands, so children can pull piece k while k+1 arrives.
 */
export class OriginSeeder implements Seeder {
  private readonly seeding = new Map<string, Promise<void>>()
  /** tasks this seed has fetched or is fetching; re-registered so a restarted scheduler knows them again */
  private readonly seeded = new Map<string, TaskStore>()

  constructor (private readonly c: SeederComponents) {}

  held (): Iterable<TaskStore> { return this.seeded.values() }

  isSeeding (taskId: string): boolean { return this.seeding.has(taskId) }

  seed (req: SeedRequest): void {
    if (this.seeding.has(req.taskId)) return
    const log = this.c.log.child({ task: req.taskId })
    const report = new TaskReporter(this.c.scheduler, req.taskId)
    const request = requestOf(req)
    let expected = ''
    try { expected = taskIdFor(request) } catch {}
    if (expected !== req.taskId) {
      // a task id bound to another URL would publish that URL's pieces under a victim's task id
      log.warn('seed request does not match its task id; refused')
      report.finished(new Error('task id does not match the request'))
      return
    }
    const run = (async () => {
      // fetched for someone else: no private targets, and the seed's own credentials only for allow-listed origins
      await this.c.policy.checkTarget(req.url)
      const backends = this.c.policy.mayUseOwnCredentials(req.url) ? this.c.backends : this.c.anonymousBackends
      const store = await this.c.store.open(req.taskId, req.url)
      this.seeded.set(req.taskId, store)
      const headers = Object.fromEntries(req.headers.map((h) => [h.name, h.value]))
      log.info('seeding from origin')
      const started = Date.now()
      await this.c.fetchSource({
        backend: backends.forUrl(req.url),
        url: req.url,
        headers,
        store,
        hasher: this.c.hasher,
        log,
        pieceLength: req.pieceLength > 0 ? req.pieceLength : undefined,
        onMeta: () => { report.meta(store, req.url) },
        onPiece: (index, digest) => {
          this.c.onOriginBytes(pieceRange(index, store.contentLength, store.pieceLength).length)
          report.piece(index, digest)
        }
      })
      // the whole content against the digest the task is named by, before calling it done
      if (request.digest != null) {
        await store.flush()
        try {
          await verifyFileDigest(store.dataPath, request.digest)
        } catch (err) {
          this.seeded.delete(req.taskId)
          await this.c.store.remove(req.taskId).catch(() => {})
          throw err
        }
      }
      // pieces already on disk from an earlier run were not reported above
      report.manifest(store)
      report.finished()
      log.info({ ms: Date.now() - started, bytes: store.contentLength }, 'seeded')
    })().catch((err) => {
      log.error({ err: errorInfo(err) }, 'seeding failed')
      report.finished(err)
    }).finally(() => { this.seeding.delete(req.taskId) })
    this.seeding.set(req.taskId, run)
  }

  async republish (): Promise<void> {
    for (const id of await this.c.store.list()) {
      const store = await this.c.store.get(id)
      if (store != null) new TaskReporter(this.c.scheduler, id).manifest(store)
    }
  }
}
