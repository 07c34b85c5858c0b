import { pieceRange, taskIdFor, type Logger } from '@damselfly/utils'
import { errorInfo, type Hasher } from '@damselfly/types'
import { verifyFileDigest, requestOf, TaskReporter, type Seeder, type SeederComponents } from '@damselfly/task-engine'
import type { SeedRequest } from '@damselfly/proto'
import type { PieceStore, TaskStore } from '@damselfly/storage'
import type { Backends } from '@damselfly/backend'
import type { SchedulerLink } from '@damselfly/scheduler-client'

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

  private get store (): PieceStore { return this.c.store }
  private get hasher (): Hasher { return this.c.hasher }
  private get backends (): Backends { return this.c.backends }
  private get scheduler (): SchedulerLink | undefined { return this.c.scheduler }
  private get log (): Logger { return this.c.log }

  held (): Iterable<TaskStore> { return this.seeded.values() }

  isSeeding (taskId: string): boolean { return this.seeding.has(taskId) }

  seed (req: SeedRequest): void {
    if (this.seeding.has(req.taskId)) return
    const log = this.log.child({ task: req.taskId })
    const report = new TaskReporter(this.scheduler, req.taskId)
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
      const backends = this.c.policy.mayUseOwnCredentials(req.url) ? this.backends : this.c.anonymousBackends
      const store = await this.store.open(req.taskId, req.url)
      this.seeded.set(req.taskId, store)
      const headers = Object.fromEntries(req.headers.map((h) => [h.name, h.value]))
      log.info('seeding from origin')
      const started = Date.now()
      await this.c.fetchSource({
        backend: backends.forUrl(req.url),
        url: req.url,
        headers,
        store,
        hasher: this.hasher,
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
          await this.store.remove(req.taskId).catch(() => {})
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
    for (const id of await this.store.list()) {
      const store = await this.store.get(id)
      if (store != null) new TaskReporter(this.scheduler, id).manifest(store)
    }
  }
}
