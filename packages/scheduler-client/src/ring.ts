import { EventEmitter } from 'node:events'
import { createHash } from 'node:crypto'
import { SchedulerClient, type SchedulerClientInit, type SchedulerClientEvents, type SchedulerLink } from './index.js'
import { SchedulerUnavailableError } from '@damselfly/types'
import type { PeerMessage } from '@damselfly/proto'
import type { Libp2p } from '@libp2p/interface'

export interface SchedulerRingInit extends Omit<SchedulerClientInit, 'url' | 'peerId'> {
  /** every scheduler's HTTP URL (`…/p2p/<peer id>` pins its identity) */
  urls: string[]
  /** pinned peer ids by URL, for URLs that do not carry one */
  peerIds?: Record<string, string>
}

/** task owners remembered at most (a peer has far fewer tasks in flight) */
const MAX_REMEMBERED_OWNERS = 4096

/**
 * Sessions with several schedulers. Each task belongs to one of them by
 * rendezvous hashing of its id over the live schedulers (consistent: adding
 * or losing one scheduler moves only that scheduler's tasks), so a task's
 * whole swarm meets on one scheduler. When the set of live schedulers
 * changes, 'connected' fires so downloads re-announce to their task's owner.
 */
export class SchedulerRing extends EventEmitter<SchedulerClientEvents> implements SchedulerLink {
  readonly clients: SchedulerClient[]
  private readonly owners = new Map<string, SchedulerClient>()
  private ownersKey = ''

  constructor (node: Libp2p, init: SchedulerRingInit) {
    super()
    this.clients = init.urls.map((url) => new SchedulerClient(node, { ...init, url, peerId: init.peerIds?.[url] }))
    for (const c of this.clients) {
      c.on('update', (u) => this.emit('update', u))
      c.on('seed', (r) => this.emit('seed', r))
      c.on('preheat', (r) => this.emit('preheat', r))
      c.on('connected', () => this.emit('connected'))
      c.on('attempted', () => { if (this.settled) this.emit('attempted') })
      c.on('disconnected', (err) => {
        this.emit('disconnected', err)
        // the task's owner may have moved to another live scheduler
        if (this.connected) this.emit('connected')
      })
    }
  }

  get connected (): boolean { return this.clients.some((c) => c.connected) }
  /** every scheduler has been tried once: until then a task's owner among the live ones is not known */
  get settled (): boolean { return this.clients.every((c) => c.attempted) }

  /** the scheduler identities grants may be signed by: pinned ones, or (dev mode) those learnt */
  get trustedIds (): ReadonlySet<string> {
    const ids = new Set<string>()
    for (const c of this.clients) { const id = c.trustedId; if (id != null) ids.add(id) }
    return ids
  }

  async start (): Promise<void> { await Promise.all(this.clients.map(async (c) => { await c.start() })) }
  async stop (): Promise<void> { await Promise.all(this.clients.map(async (c) => { await c.stop() })) }

  /**
   * Resolves once a scheduler is connected and every one has been tried: a task announced while
   * only some sessions are up would go to the wrong owner and end up on two schedulers. After
   * `timeoutMs` it resolves if any is connected, else rejects.
   */
  async waitConnected (timeoutMs: number): Promise<void> {
    if (this.connected && this.settled) return
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        this.off('connected', check)
        this.off('attempted', check)
        if (this.connected) resolve()
        else reject(new SchedulerUnavailableError(`no scheduler reachable within ${timeoutMs} ms`))
      }
      const check = (): void => { if (this.connected && this.settled) done() }
      const timer = setTimeout(done, timeoutMs)
      this.on('connected', check)
      this.on('attempted', check)
    })
  }

  /** The live scheduler owning a task (any scheduler when none is live). */
  forTask (taskId: string): SchedulerClient {
    if (this.clients.length === 1) return this.clients[0]
    const live = this.clients.filter((c) => c.connected)
    const pool = live.length > 0 ? live : this.clients
    // every piece report asks: the hashes are done once per task and set of live schedulers
    const urls = pool.map((c) => c.url)
    const key = urls.join('\n')
    if (key !== this.ownersKey) { this.owners.clear(); this.ownersKey = key }
    let owner = this.owners.get(taskId)
    if (owner == null) {
      const url = ownerOf(urls, taskId)
      owner = pool.find((c) => c.url === url)!
      if (this.owners.size >= MAX_REMEMBERED_OWNERS) this.owners.clear()
      this.owners.set(taskId, owner)
    }
    return owner
  }

  /** Routes a message to its task's scheduler. */
  send (msg: Partial<PeerMessage>): boolean {
    const taskId = msg.announce?.taskId ?? msg.meta?.taskId ?? msg.pieces?.taskId ?? msg.failure?.taskId ?? msg.finished?.taskId ?? msg.leave?.taskId
    if (taskId == null) return this.clients.map((c) => c.send(msg)).some(Boolean)
    return this.forTask(taskId).send(msg)
  }
}

/** Rendezvous (highest random weight) hashing: the scheduler URL that owns a task. */
export function ownerOf (urls: string[], taskId: string): string {
  let best = urls[0]
  let bestScore = -1n
  for (const url of urls) {
    const score = createHash('sha256').update(`${url}\n${taskId}`).digest().readBigUInt64BE(0)
    if (score > bestScore) { best = url; bestScore = score }
  }
  return best
}
