import { DamselflyError, OriginError, ForbiddenError, UnauthorizedError, InvalidRequestError, NoSeedError, PreheatNotFoundError, TaskNotFoundError, httpError, errorInfo } from '@damselfly/types'
import { timingSafeEqual } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { PeerMessage, SchedulerMessage, MAX_MESSAGE_BYTES, SCHEDULER_PROTOCOL, MAX_FIRST_MESSAGE_BYTES, DEFAULT_HEARTBEAT_MS, SILENT_HEARTBEATS } from '@damselfly/proto'
import { libp2pSecurity, loadOrCreateKey, YAMUX_KEEPALIVE } from '@damselfly/utils/libp2p'
import { bearerMatches, FrameReader, lengthPrefixed, redactUrl, taskIdFor, halveYamuxWindowUpdates, NO_SCHEMA_COMPILERS, type Logger } from '@damselfly/utils'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@chainsafe/libp2p-yamux'
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { makeTicket, signGrant } from '@damselfly/piece-exchange'
import { Swarm, MAX_PREHEAT_JOBS, PREHEAT_TTL_MS, type SwarmInit } from '@damselfly/scheduler-core'
import type { Backends, BackendsInit } from '@damselfly/backend'
import { buildSchedulerMetrics, type SchedulerMetrics } from './metrics.js'
import { DASHBOARD_HTML } from './dashboard.js'
import type { Libp2p, PrivateKey, Stream, Connection } from '@libp2p/interface'

export interface SchedulerInit {
  log: Logger
  /** HTTP API @default { host: '127.0.0.1', port: 8002 } */
  http?: { host?: string, port?: number }
  /** libp2p listener @default { host: '127.0.0.1', port: 8003 } */
  /** libp2pDebug: keep libp2p's own `debug` loggers (DEBUG=libp2p*) */
  p2p?: { host?: string, port?: number, announce?: string[], libp2pDebug?: boolean }
  privateKey?: PrivateKey
  /**
   * where the scheduler's libp2p identity is kept, so its peer id (which peers pin) survives
   * restarts; a fresh identity each start when neither this nor `privateKey` is given
   */
  keyFile?: string
  /**
   * development / lab mode: peers may claim to be seeds without a seed token when none is
   * configured (a production scheduler refuses every seed claim then)
   */
  dev?: boolean
  /** cluster token every peer must present (and the libp2p private-network key); none = open cluster */
  token?: string
  /** peer ids allowed to register (empty = any peer with the token) */
  allowPeers?: string[]
  /**
   * token a peer must present to register as a seed peer (only seeds may
   * publish manifests, so a claim of `seed` is never taken on trust)
   */
  seedToken?: string
  /** peer ids allowed to act as seed peers, in addition to holders of `seedToken` */
  allowSeeds?: string[]
  /**
   * bearer token for admin routes (preheat makes seeds fetch a URL: not for anyone who can
   * reach the port); default: the cluster `token`; with neither, those routes are refused
   */
  adminToken?: string
  /**
   * how often each session gets a Heartbeat (scheduler.proto); a peer that answers none for
   * SILENT_HEARTBEATS of them is dropped @default DEFAULT_HEARTBEAT_MS
   */
  heartbeatMs?: number
  swarm?: SwarmInit
  /** origin options for listing preheat targets (registry credentials, hub URL …) */
  backends?: BackendsInit
}

/** decode limits for untrusted peer messages */
export const DECODE_LIMITS = {
  limits: {
    register: { addrs: 16, tasks: 4096 },
    announce: { headers: 64 },
    pieces: { indexes: 65536, digests: 65536 },
    // a peer batches reports for a few ms, one per parent it took pieces from
    morePieces: 64,
    morePieces$: { indexes: 65536, digests: 65536 }
  }
} as any

/**
 * The scheduler daemon: a libp2p endpoint where peers keep their session
 * stream, and a fastify HTTP API for discovery, health and inspection.
 */
export class SchedulerService {
  readonly swarm: Swarm
  /**
   * origins, only to list what a preheat URL names (images, repositories): made on the first
   * such preheat, so a scheduler that never sees one never loads the backends or undici
   */
  private backendsMade?: Promise<Backends>
  node!: Libp2p
  app!: FastifyInstance
  private readonly sessions = new Map<Stream, Session>()
  private heartbeatTimer?: NodeJS.Timeout
  private lastSweep = 0
  readonly metrics: SchedulerMetrics
  httpUrl = ''

  constructor (private readonly init: SchedulerInit) {
    this.swarm = new Swarm(init.swarm)
    this.metrics = buildSchedulerMetrics(this.swarm)
  }

  private get heartbeatMs (): number { return this.init.heartbeatMs ?? DEFAULT_HEARTBEAT_MS }

  async backends (): Promise<Backends> {
    this.backendsMade ??= import('@damselfly/backend').then(({ createBackends }) => createBackends(this.init.backends))
    return await this.backendsMade
  }

  async start (): Promise<void> {
    halveYamuxWindowUpdates(YamuxStream)
    const privateKey = this.init.privateKey ?? await loadOrCreateKey(this.init.keyFile)
    // grants: the scheduler's signed word that a member may fetch a task's pieces
    this.swarm.issueGrant = (taskId, peerId) => signGrant(privateKey, this.peerId, taskId, peerId)
    // data channel tickets: a child reaches a parent's data port without a libp2p connection to it
    this.swarm.issueTicket = makeTicket
    this.node = await createLibp2p({
      privateKey,
      ...libp2pSecurity({ clusterToken: this.init.token, debug: this.init.p2p?.libp2pDebug }),
      addresses: {
        listen: [`/ip4/${this.init.p2p?.host ?? '127.0.0.1'}/tcp/${this.init.p2p?.port ?? 8003}`],
        announce: this.init.p2p?.announce
      },
      // sessions prove liveness with heartbeats (sweep()), not libp2p pings. A socket silent as long
      // is closed too: a connection that never opened a session, or a peer too old to answer
      // heartbeats (it still pings, which keeps its socket busy)
      transports: [tcp({ inboundSocketInactivityTimeout: SILENT_HEARTBEATS * this.heartbeatMs })],
      connectionMonitor: { enabled: false },
      streamMuxers: [yamux(YAMUX_KEEPALIVE)],
      // every peer of a pool behind one NAT looks like one host: libp2p's per-host
      // inbound rate limit (5/s) would turn a node pool's restart into refusals
      connectionManager: { maxConnections: 100_000, inboundConnectionThreshold: 100_000, maxIncomingPendingConnections: 1024, inboundUpgradeTimeout: 30_000 }
    })
    await this.node.handle(SCHEDULER_PROTOCOL, (stream, conn) => {
      this.session(stream, conn).catch((err) => {
        this.init.log.debug({ err: err.message, peer: conn.remotePeer.toString() }, 'peer session ended with error')
        stream.abort(err)
      })
    }, { maxInboundStreams: 4 })
    if (this.openSeeds) this.init.log.warn('dev mode, no seed token or seed allow-list: any peer that registers may act as a seed peer')
    else if ((this.init.seedToken ?? '') === '' && (this.init.allowSeeds?.length ?? 0) === 0) this.init.log.warn('no seed token or seed allow-list: every seed claim is refused (--seed-token, or --dev for a lab)')
    this.lastSweep = Date.now()
    this.heartbeatTimer = setInterval(() => { this.sweep() }, this.heartbeatMs).unref()
    this.app = buildHttpApi(this)
    const address = await this.app.listen({ host: this.init.http?.host ?? '127.0.0.1', port: this.init.http?.port ?? 8002 })
    this.httpUrl = address
    this.init.log.info({ http: address, p2p: this.addrs }, 'scheduler started')
  }

  async stop (): Promise<void> {
    clearInterval(this.heartbeatTimer)
    for (const s of this.sessions.keys()) s.abort(new Error('scheduler stopping'))
    this.metrics.process.close()
    await this.app?.close()
    await this.node?.stop()
    if (this.backendsMade != null) await (await this.backendsMade).close()
  }

  get peerId (): string { return this.node.peerId.toString() }
  /** the token admin routes want, or undefined when they are off */
  get adminToken (): string | undefined {
    const t = this.init.adminToken ?? this.init.token
    return t != null && t !== '' ? t : undefined
  }
  get addrs (): string[] { return this.node.getMultiaddrs().map((m) => m.toString()) }

  private async session (stream: Stream, conn: Connection): Promise<void> {
    const peerId = conn.remotePeer.toString()
    // nothing big is buffered for a peer that has not registered yet: a registration is small
    const reader = new FrameReader(stream, MAX_FIRST_MESSAGE_BYTES)
    stream.maxReadBufferLength = MAX_FIRST_MESSAGE_BYTES * 2
    const first = await reader.readFrame(MAX_FIRST_MESSAGE_BYTES)
    if (first == null) return
    const busy = this.metrics.process.busy
    busy()
    stream.maxReadBufferLength = MAX_MESSAGE_BYTES * 2
    const hello = PeerMessage.decode(first, DECODE_LIMITS)
    const reply = (msg: Partial<SchedulerMessage>): void => {
      if (stream.status !== 'open') return
      try { stream.send(lengthPrefixed(SchedulerMessage.encode(msg))) } catch {}
    }
    const refusal = this.authorise(peerId, hello)
    if (refusal != null) {
      this.init.log.warn({ peer: peerId, reason: refusal }, 'registration refused')
      reply({ registered: { schedulerId: this.peerId, error: refusal } })
      await stream.close().catch(() => {})
      return
    }
    const heartbeats = hello.register!.heartbeats === true
    reply({ registered: { schedulerId: this.peerId, error: '', heartbeatMs: heartbeats ? this.heartbeatMs : 0 } })
    this.swarm.register(peerId, hello.register!, reply)
    const session: Session = { peerId, conn, reply, heartbeats, lastHeard: Date.now() }
    this.sessions.set(stream, session)
    this.init.log.info({ peer: peerId, pool: hello.register!.pool, seed: hello.register!.seed }, 'peer registered')
    try {
      while (true) {
        const frame = await reader.readFrame(MAX_MESSAGE_BYTES)
        if (frame == null) break
        session.lastHeard = Date.now()
        const msg = PeerMessage.decode(frame, DECODE_LIMITS)
        // an answer to a heartbeat is not work: it must not wake the event-loop sampler every interval
        if (msg.heartbeat != null) continue
        busy()
        // holdings that did not fit in the (small) registration
        if (msg.register != null) this.swarm.addHoldings(peerId, msg.register.tasks)
        this.swarm.handle(peerId, msg)
      }
    } finally {
      this.sessions.delete(stream)
      this.swarm.disconnect(peerId, reply)
      this.init.log.info({ peer: peerId }, 'peer left')
    }
    await stream.close().catch(() => {})
  }

  /**
   * Every heartbeat interval, one pass over the sessions: a peer that has answered nothing for
   * SILENT_HEARTBEATS intervals is gone (its host hung or its link was cut, with no FIN or RST) and
   * its connection is closed, so the swarm stops planning with it; every other session gets the
   * next heartbeat. One timer for all sessions, not one per session.
   */
  private sweep (): void {
    const now = Date.now()
    const silence = SILENT_HEARTBEATS * this.heartbeatMs
    // a pass this late means the scheduler itself stood still (a paused VM, a stopped process):
    // answers may be waiting unread, so no one is judged this time
    const judge = now - this.lastSweep < 2 * this.heartbeatMs
    this.lastSweep = now
    for (const s of this.sessions.values()) {
      if (!s.heartbeats) continue
      const quiet = now - s.lastHeard
      if (judge && quiet > silence) {
        this.init.log.warn({ peer: s.peerId, silentMs: quiet }, 'peer answered no heartbeat: session closed')
        this.metrics.silentSessions.inc()
        s.conn.abort(new Error(`peer silent for ${quiet} ms`))
        continue
      }
      s.reply({ heartbeat: {} })
    }
  }

  /** Neither a seed token nor a seed allow-list, in dev mode: a development cluster that trusts seed claims. */
  private get openSeeds (): boolean {
    return this.init.dev === true && (this.init.seedToken ?? '') === '' && (this.init.allowSeeds?.length ?? 0) === 0
  }

  /** Why a peer may not register, or undefined when it may. */
  private authorise (peerId: string, hello: PeerMessage): string | undefined {
    const reg = hello.register
    if (reg == null) return 'first message must be a registration'
    const seedToken = this.init.seedToken ?? ''
    const presentsSeedToken = seedToken !== '' && timingSafeEqualString(reg.token, seedToken)
    const token = this.init.token ?? ''
    if (token !== '' && !timingSafeEqualString(reg.token, token) && !presentsSeedToken) return 'invalid cluster token'
    if ((this.init.allowPeers?.length ?? 0) > 0 && !this.init.allowPeers!.includes(peerId)) return 'peer id not allowed'
    // seeds publish the manifests every peer verifies against: the claim must be backed by a credential
    if (reg.seed && !this.openSeeds && !presentsSeedToken && !(this.init.allowSeeds ?? []).includes(peerId)) return 'peer is not authorised as a seed peer'
    return undefined
  }
}

interface Session {
  peerId: string
  conn: Connection
  reply: (msg: Partial<SchedulerMessage>) => void
  /** the peer answers heartbeats (Register.heartbeats); an older one only pings */
  heartbeats: boolean
  /** when its last message arrived */
  lastHeard: number
}

interface PreheatBody {
  url: string
  headers?: Record<string, string>
  pools?: string[]
  pieceLength?: number
  digest?: string
  tag?: string
  application?: string
  filteredQueryParams?: string[]
}

interface PreheatJob {
  id: string
  tasks: Array<{ taskId: string, path: string, peers: string[] }>
  pools: string[]
  peers: string[]
  createdAt: number
}

/**
 * What a preheat URL names: itself for a plain URL or blob, every layer (and
 * the config) of an `oci://host/name:tag` image, every file of an `hf://`
 * repository. Task ids then match what peers compute when they download.
 */
async function expandPreheat (svc: SchedulerService, b: PreheatBody): Promise<Array<{ url: string, digest?: string, path: string }>> {
  const scheme = b.url.split(':')[0]
  if ((scheme === 'oci' || scheme === 'hf') && b.digest == null) {
    const backend = (await svc.backends()).forUrl(b.url)
    if (backend.list != null) {
      const entries = await backend.list(b.url, b.headers ?? {}, { recursive: true })
      if (entries.length === 0) throw Object.assign(new Error(`${redactUrl(b.url)} names no objects`), { status: 404, code: 'ERR_NOT_FOUND' })
      return entries.map((e) => ({ url: e.url, digest: e.digest, path: e.path }))
    }
  }
  return [{ url: b.url, digest: b.digest, path: '' }]
}

export function buildHttpApi (svc: SchedulerService): FastifyInstance {
  const app = Fastify({ logger: false, schemaController: NO_SCHEMA_COMPILERS })
  app.setErrorHandler(async (err, _req, reply) => {
    const { status, body } = httpError(err)
    return await reply.code(status).send(body)
  })
  const preheats = new Map<string, PreheatJob>()

  const adminToken = svc.adminToken
  app.post<{ Body: PreheatBody }>('/api/v1/preheat', async (req, reply) => {
    if (adminToken == null) throw new ForbiddenError('preheat is disabled: start the scheduler with --admin-token (or a cluster --token)')
    if (!bearerMatches(req.headers.authorization, adminToken)) {
      reply.header('www-authenticate', 'Bearer realm="damselfly-scheduler"')
      throw new UnauthorizedError('preheat needs Authorization: Bearer <admin token>')
    }
    const b = req.body
    if (b == null || typeof b.url !== 'string' || b.url === '') throw new InvalidRequestError('body must be JSON with a url')
    // an image reference or a repository names several objects: preheat each
    // listing the URL asks its origin: what that refuses is the origin's error (502 unless it says otherwise)
    const entries = await expandPreheat(svc, b).catch((err) => { throw err instanceof DamselflyError ? err : new OriginError(errorInfo(err).message) })
    // the body's headers only list what the URL names (above); they are never handed to peers
    // or seeds, which fetch with their own configured credentials
    const headers: Array<{ name: string, value: string }> = []
    const tasks: PreheatJob['tasks'] = []
    for (const e of entries) {
      let taskId: string
      try {
        taskId = taskIdFor({ url: e.url, pieceLength: b.pieceLength, digest: e.digest, tag: b.tag, application: b.application, filteredQueryParams: b.filteredQueryParams })
      } catch (err: any) {
        throw new InvalidRequestError(err.message)
      }
      const { peers } = svc.swarm.preheat({ taskId, url: e.url, headers, pieceLength: b.pieceLength ?? 0, digest: e.digest ?? '', tag: b.tag ?? '', application: b.application ?? '', filteredQueryParams: b.filteredQueryParams ?? [], range: '' }, b.pools ?? [])
      tasks.push({ taskId, path: e.path, peers })
    }
    const noSeed = tasks.every((t) => svc.swarm.tasks.get(t.taskId)?.seedState === 'failed' && t.peers.length === 0)
    if (noSeed) throw new NoSeedError('no seed peer or pool peer available to preheat')
    const peers = [...new Set(tasks.flatMap((t) => t.peers))]
    const job: PreheatJob = { id: `${tasks[0].taskId.slice(0, 16)}-${Date.now().toString(36)}`, tasks, pools: b.pools ?? [], peers, createdAt: Date.now() }
    // jobs are kept for a while to be polled, never for ever, and never without bound
    for (const [id, j] of preheats) if (j.createdAt + PREHEAT_TTL_MS < Date.now() || preheats.size >= MAX_PREHEAT_JOBS) preheats.delete(id)
    preheats.set(job.id, job)
    return await reply.code(202).send({ id: job.id, taskId: tasks[0].taskId, tasks: tasks.map((t) => ({ taskId: t.taskId, path: t.path })), peers })
  })

  app.get<{ Params: { id: string } }>('/api/v1/preheat/:id', async (req, reply) => {
    const job = preheats.get(req.params.id)
    if (job == null) throw new PreheatNotFoundError('no such preheat job')
    const tasks = job.tasks.map((t) => {
      const task = svc.swarm.tasks.get(t.taskId)
      const seed = task?.seedPeer != null ? task.members.get(task.seedPeer) : undefined
      const targets = t.peers.map((id) => {
        const m = task?.members.get(id)
        return { id, pool: svc.swarm.peers.get(id)?.pool, pieces: m?.have.cardinality ?? 0, done: m?.done ?? false }
      })
      const state = task == null
        ? 'unknown'
        : task.seedState === 'failed' && task.originFailures > 0 ? 'failed' : task.seedState === 'done' && targets.every((x) => x.done) ? 'succeeded' : 'running'
      return { taskId: t.taskId, path: t.path, state, pieceCount: task?.pieceCount ?? 0, seed: { id: task?.seedPeer, state: task?.seedState, pieces: seed?.have.cardinality ?? 0 }, peers: targets, error: task?.lastError ?? '' }
    })
    const state = tasks.some((t) => t.state === 'failed') ? 'failed' : tasks.every((t) => t.state === 'succeeded') ? 'succeeded' : 'running'
    const peers = job.peers.map((id) => ({ id, pool: svc.swarm.peers.get(id)?.pool, done: tasks.every((t) => !t.peers.some((p) => p.id === id) || t.peers.find((p) => p.id === id)!.done) }))
    return { id: job.id, taskId: job.tasks[0].taskId, state, tasks, peers }
  })

  const registry = svc.metrics.registry
  app.get('/metrics', async (_req, reply) => await reply.type(registry.contentType).send(await registry.metrics()))
  app.get('/', async (_req, reply) => await reply.redirect('/dashboard'))
  app.get('/dashboard', async (_req, reply) => await reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(DASHBOARD_HTML))
  app.get('/api/v1/stats', async () => ({
    peers: svc.swarm.peers.size,
    tasks: svc.swarm.tasks.size,
    decisions: svc.swarm.decisions,
    backToSourceDecisions: svc.swarm.backToSourceDecisions,
    // the per-pool WAN budget (--pool-wan-budget, 0 = unlimited) and what each pool moves across pools now
    poolWan: { budget: svc.swarm.poolBudget.rate, pools: Object.fromEntries(svc.swarm.poolBudget.rates()) }
  }))
  app.get('/healthz', async () => ({ ok: true }))
  app.get('/readyz', async () => ({ ok: true, peers: svc.swarm.peers.size }))
  app.get('/api/v1/info', async () => ({ peerId: svc.peerId, addrs: svc.addrs }))
  app.get('/api/v1/peers', async () => svc.swarm.peerList())
  app.get('/api/v1/tasks', async () => [...svc.swarm.tasks.values()].map((t) => svc.swarm.taskView(t)))
  app.get<{ Params: { id: string } }>('/api/v1/tasks/:id', async (req, reply) => {
    const t = svc.swarm.tasks.get(req.params.id)
    if (t == null) throw new TaskNotFoundError('no such task')
    return svc.swarm.taskView(t)
  })
  return app
}

/** The peer id of the scheduler whose key is in `keyFile` (created there if missing): what peers pin. */
export async function schedulerPeerId (keyFile: string): Promise<string> {
  // an Ed25519 public key's string form is its identity multihash in base58btc: the peer id
  return (await loadOrCreateKey(keyFile)).publicKey.toString()
}

function timingSafeEqualString (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.byteLength === y.byteLength && timingSafeEqual(x, y)
}
