import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode, listenAddrs } from '@damselfly/task-engine'
import { SchedulerClient, fetchSchedulerInfo } from '@damselfly/scheduler-client'
import { SCHEDULER_PROTOCOL } from '@damselfly/proto'
import { PIECE_PROTOCOL } from '@damselfly/piece-exchange'
import { Grant, NO_TASK_KEY_PARTS, PeerMessage, PieceRequest, PieceResponse, PieceStatus, SchedulerMessage, type Register, type TaskUpdate } from '@damselfly/proto'
import { FrameReader, lengthPrefixed, sendWithBackpressure, silentLogger, taskIdFor } from '@damselfly/utils'
import { waitFor } from '@damselfly/testkit'
import type { Libp2p, Stream } from '@libp2p/interface'

/**
 * What a misbehaving peer does when asked for a piece:
 * - corrupt: answers OK with the right length and wrong bytes
 * - liar: claims every piece to the scheduler, answers NOT_FOUND
 * - slow: never answers (holds the requester's pipeline)
 */
export type RogueMode = 'corrupt' | 'liar' | 'slow'

export interface RogueInit {
  schedulerUrl: string
  token?: string
  /** claim to be a seed in the Register message */
  claimSeed?: boolean
  pool?: string
  mode?: RogueMode
  /**
   * the cluster token its libp2p node keys the private network with (a member's node);
   * @default `token`
   */
  networkToken?: string
}

/**
 * A real libp2p peer (TCP + Noise + yamux) speaking the scheduler and piece
 * protocols with the real scheduler, built to misbehave.
 */
export class RoguePeer {
  node!: Libp2p
  client?: SchedulerClient
  /** piece requests received, by index */
  readonly requests: number[] = []
  /** peers that asked us for pieces */
  readonly requesters = new Set<string>()
  readonly updates: TaskUpdate[] = []
  /** every raw frame the scheduler sent us, to look for leaked secrets */
  readonly rawFromScheduler: Uint8Array[] = []
  private readonly held: Stream[] = []

  constructor (readonly init: RogueInit) {}

  get peerId (): string { return this.node.peerId.toString() }

  async start (): Promise<void> {
    this.node = await createNode({ clusterToken: this.init.networkToken ?? this.init.token })
    await this.node.start()
    await this.node.handle(PIECE_PROTOCOL, (stream, conn) => { this.requesters.add(conn.remotePeer.toString()); this.serve(stream).catch(() => { stream.abort(new Error('rogue done')) }) }, { maxInboundStreams: 64 })
  }

  registration (): Register {
    return {
      addrs: listenAddrs(this.node),
      pool: this.init.pool ?? 'default',
      idc: '',
      hostname: 'rogue',
      seed: this.init.claimSeed === true,
      uploadSlots: 64,
      token: this.init.token ?? '',
      tasks: []
    }
  }

  /** A session through the project's own client (reconnects, decodes updates). */
  async connect (): Promise<SchedulerClient> {
    this.client = new SchedulerClient(this.node, { url: this.init.schedulerUrl, dev: true, log: silentLogger(), register: () => this.registration(), minBackoffMs: 60_000 })
    this.client.on('update', (u) => { this.updates.push(u); this.rawFromScheduler.push(SchedulerMessage.encode({ update: u })) })
    this.client.on('seed', (s) => { this.rawFromScheduler.push(SchedulerMessage.encode({ seed: s })) })
    await this.client.start()
    await this.client.waitConnected(10_000)
    return this.client
  }

  /**
   * A raw session: sends `messages` (the first should be a registration) and
   * returns what the scheduler answered before it closed the stream or `ms` passed.
   */
  async rawSession (messages: Array<Partial<PeerMessage>>, ms = 1500): Promise<{ replies: SchedulerMessage[], closed: boolean }> {
    const info = await fetchSchedulerInfo(this.init.schedulerUrl)
    const addrs = info.addrs.map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${info.peerId}`))
    // on a loaded CI machine a Noise handshake now and then fails; that is not what these tests are about
    let stream: Stream | undefined
    for (let attempt = 1; stream == null; attempt++) {
      try { stream = await this.node.dialProtocol(addrs, SCHEDULER_PROTOCOL, { signal: AbortSignal.timeout(8000) }) } catch (err) { if (attempt >= 3) throw err; await new Promise((resolve) => setTimeout(resolve, 300 * attempt)) }
    }
    const reader = new FrameReader(stream, 8 * 1024 * 1024)
    for (const m of messages) stream.send(lengthPrefixed(PeerMessage.encode(m)))
    const replies: SchedulerMessage[] = []
    let closed = false
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      const frame = await Promise.race([
        reader.readFrame(8 * 1024 * 1024).catch(() => null),
        new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), Math.max(1, deadline - Date.now())))
      ])
      if (frame === 'timeout') break
      if (frame == null) { closed = true; break }
      this.rawFromScheduler.push(frame.subarray())
      replies.push(SchedulerMessage.decode(frame))
    }
    if (stream.status === 'open') await stream.close().catch(() => { stream.abort(new Error('done')) })
    return { replies, closed }
  }

  /**
   * Joins a task as a downloader would (announces it through the session) and resolves with the
   * scheduler's grant for it, encoded as piece requests carry it: parents serve only grant holders.
   */
  async join (url: string, pieceLength = 0): Promise<{ taskId: string, grant: Uint8Array<ArrayBuffer> }> {
    const taskId = taskIdFor({ url, pieceLength: pieceLength > 0 ? pieceLength : undefined })
    this.client!.send({ announce: { taskId, url, headers: [], pieceLength, digest: '', ...NO_TASK_KEY_PARTS } })
    const update = await waitFor('the scheduler\'s grant for the task', () => this.updates.find((u) => u.taskId === taskId && u.grant != null), 20_000)
    return { taskId, grant: Grant.encode(update.grant!) as Uint8Array<ArrayBuffer> }
  }

  /** Tells the scheduler we hold every piece of a task (a lie unless we serve correctly). */
  claimAll (taskId: string, pieceCount: number): void {
    this.client?.send({ pieces: { taskId, indexes: Array.from({ length: pieceCount }, (_, i) => i), digests: [], parentId: '', costMs: 0 } })
  }

  private async serve (stream: Stream): Promise<void> {
    const reader = new FrameReader(stream, 64 * 1024)
    while (true) {
      const frame = await reader.readFrame(1024)
      if (frame == null) break
      const req = PieceRequest.decode(frame)
      this.requests.push(req.index)
      const mode = this.init.mode ?? 'corrupt'
      if (mode === 'slow') { this.held.push(stream); continue }
      if (mode === 'liar') {
        await sendWithBackpressure(stream, lengthPrefixed(PieceResponse.encode({ index: req.index, status: PieceStatus.NOT_FOUND, length: 0 })))
        continue
      }
      const length = this.pieceLength(req.index)
      await sendWithBackpressure(stream, lengthPrefixed(PieceResponse.encode({ index: req.index, status: PieceStatus.OK, length })))
      await sendWithBackpressure(stream, randomBytes(length))
    }
    await stream.close()
  }

  /** geometry of the task under attack, set by the test */
  geometry = { contentLength: 0, pieceLength: 1 }
  private pieceLength (index: number): number {
    const { contentLength, pieceLength } = this.geometry
    return Math.max(0, Math.min(pieceLength, contentLength - index * pieceLength))
  }

  async stop (): Promise<void> {
    for (const s of this.held) s.abort(new Error('rogue stopping'))
    await this.client?.stop()
    await this.node?.stop()
  }
}
