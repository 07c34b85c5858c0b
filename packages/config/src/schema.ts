import { z } from 'zod'
import { parseBytes, parseRate } from '@damselfly/utils'

export { parseBytes, parseRate }

export type Role = 'scheduler' | 'seed' | 'peer'
export const ROLES: readonly Role[] = ['scheduler', 'seed', 'peer']

const port = z.number().int().min(0).max(65535)
const host = z.string().min(1)
const bytes = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*([KMGT]i?B?|B)?$/i, 'a size like 512MiB, 20GiB or a number of bytes')])

/** bytes per second: a number, or a size with an optional /s ("10MiB", "800KiB/s"); 0 = unlimited */
const rate = z.union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*([KMGT]i?B?|B)?(\/s)?$/i, 'a rate like 10MiB, 800KiB/s or a number of bytes per second')])
/** a secret given in a file or the environment: long enough that guessing is no attack */
const secret = z.string().min(16, 'at least 16 characters')
/** `host`, `host:port`, `[v6]:port`, a CIDR (`10.0.0.0/8`) or `*.suffix` */
const destination = z.string().min(1)

export const schedulerConfigSchema = z.object({
  /** the HTTP API (peers' discovery, preheat, dashboard, metrics) */
  host: host.default('127.0.0.1'),
  port: port.default(8002),
  /** libp2p, where peers keep their session: separate from `host` so each is exposed only where needed */
  p2pHost: host.default('127.0.0.1'),
  p2pPort: port.default(8003),
  /** addresses peers should dial (behind NAT or a Kubernetes Service) */
  announce: z.array(z.string()).default([]),
  token: z.string().optional(),
  allowPeer: z.array(z.string()).default([]),
  /** token a peer must present to act as a seed peer (publish manifests) */
  seedToken: z.string().optional(),
  /** peer ids allowed to act as seed peers without the seed token */
  allowSeed: z.array(z.string()).default([]),
  /** bytes/s each node pool may take in and send out across pools (the WAN); 0 = unlimited */
  poolWanBudget: rate.default(0),
  /**
   * how often the scheduler sends each peer session a heartbeat; a peer that answers none for three
   * of them is dropped, and a peer that hears none for three reconnects (fails over)
   */
  heartbeatSeconds: z.number().min(0.25).max(3600).default(10),
  /** cache import: a peer may publish the manifest of a task nobody else has one for (and becomes that task's seed) */
  allowImport: z.boolean().default(false),
  /** bearer token for the admin routes (preheat); without it and without `token` preheat is refused */
  adminToken: secret.optional(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** where the scheduler's libp2p identity is kept (peers pin its peer id); default: under ~/.damselfly/scheduler */
  keyFile: z.string().min(1).optional(),
  /** development / lab mode: without a seed token, peers may claim to be seeds */
  dev: z.boolean().default(false)
}).strict()

const gcSchema = z.object({
  /** cache size this daemon may hold; 0 = unlimited (TTL still applies) */
  quota: bytes.default(0),
  /** eviction starts above this fraction of the quota… */
  highWatermark: z.number().gt(0).lte(1).default(0.9),
  /** …and stops below this one */
  lowWatermark: z.number().gt(0).lte(1).default(0.7),
  /** tasks unused for this long are removed whatever the quota; 0 = never */
  ttlSeconds: z.number().nonnegative().default(0),
  intervalSeconds: z.number().positive().default(60),
  /** a task read or written this recently is being served or fetched: never evicted */
  activeWindowSeconds: z.number().nonnegative().default(30)
}).strict().refine((g) => g.lowWatermark <= g.highWatermark, { message: 'lowWatermark must not exceed highWatermark', path: ['lowWatermark'] })

function daemonSchema (d: { dataDir: string, pool: string, apiPort: number, metricsPort: number, p2pPort: number, dataPort: number }): z.ZodType<DaemonConfigShape> {
  return z.object({
    dataDir: z.string().min(1).default(d.dataDir),
    scheduler: z.array(z.url({ protocol: /^https?$/ })).default([]),
    token: z.string().optional(),
    /** seed peers: the token that authorises this daemon as a seed */
    seedToken: z.string().optional(),
    /** go back to source after this long without a verified piece from peers */
    stallTimeout: z.number().int().positive().default(15_000),
    /** drop a parent that sends nothing for this long */
    pieceTimeout: z.number().int().positive().default(30_000),
    /** drop an upload stream whose reader takes nothing for this long */
    uploadIdleTimeout: z.number().int().positive().default(30_000),
    /** give up on an origin attempt that sends nothing for this long */
    originTimeout: z.number().int().positive().default(30_000),
    /** retries per origin request (5xx, resets, timeouts) */
    originRetries: z.number().int().nonnegative().default(5),
    pool: z.string().min(1).default(d.pool),
    idc: z.string().default(''),
    /** deprecated: sets apiHost, metricsHost and proxyHost together (each of those wins when given) */
    host: host.optional(),
    /** the local API (`damselfly get`): keep it on loopback; it needs its token anyway */
    apiHost: host.optional(),
    /** Prometheus metrics */
    metricsHost: host.optional(),
    /** the HTTP proxy (containerd mirror, HF endpoint, HTTP_PROXY) */
    proxyHost: host.optional(),
    /** libp2p and the data channel: the only listeners other hosts need */
    p2pHost: host.default('127.0.0.1'),
    /** token the local API wants for every state-changing request; default: generated into <dataDir>/api-token */
    apiToken: secret.optional(),
    /** directories the local API may write outputs under (absolute); none = the API writes no files, clients stream */
    exportRoots: z.array(z.string().min(1).refine((s) => s.startsWith('/'), 'must be an absolute path')).default([]),
    apiPort: port.default(d.apiPort),
    metricsPort: port.default(d.metricsPort),
    p2pPort: port.default(d.p2pPort),
    /** data channel port (on p2pHost): pieces over TLS/TCP beside libp2p */
    dataPort: port.default(d.dataPort),
    /** how piece bytes travel: `tls` (default; encrypted), `tcp` (plain inside this node pool, TLS to other pools), `off` (libp2p streams only) */
    dataChannel: z.enum(['tls', 'tcp', 'off']).default('tls'),
    /** pieces to and from disk with O_DIRECT, bypassing the page cache (false: buffered) */
    directIo: z.boolean().default(true),
    /** memory for the pieces most recently stored or sent, so a swarm's requests for a fresh piece skip the disk; 0 = off */
    pieceCache: bytes.default('32MiB'),
    uploadSlots: z.number().int().positive().default(32),
    /** piece bytes/s sent to other peers, all tasks together; 0 = unlimited (changeable at run time: PUT /api/v1/limits) */
    uploadRate: rate.default(0),
    /** bytes/s received from parents and the origin together; 0 = unlimited */
    downloadRate: rate.default(0),
    /** bytes/s from the origin, all tasks together; 0 = unlimited */
    backToSourceRate: rate.default(0),
    /** bytes/s from the origin for any one task; 0 = unlimited */
    backToSourceTaskRate: rate.default(0),
    /** origin requests this peer runs at once, all tasks together; 0 = unlimited */
    backToSourceConcurrency: z.number().int().nonnegative().default(0),
    /** ranged origin requests any one task runs at once (its missing pieces split between them) */
    backToSourceTaskConcurrency: z.number().int().positive().default(1),
    hasherThreads: z.number().int().positive().optional(),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /** the peer's HTTP proxy (peers only) */
    proxyPort: port.default(65001),
    proxyRule: z.array(z.string().min(1)).optional(),
    /** destinations the proxy may reach although they are loopback, link-local or private */
    proxyAllow: z.array(destination).default([]),
    /** CONNECT tunnels open at once; more are refused with 503 */
    proxyMaxTunnels: z.number().int().positive().default(256),
    /** a tunnel or client connection with no bytes either way for this long is closed (ms) */
    proxyIdleTimeout: z.number().int().positive().default(120_000),
    registryMirror: z.url().optional(),
    insecureRegistry: z.array(z.string().min(1)).optional(),
    hfEndpoint: z.url().optional(),
    /** HTTPS interception: `CONNECT`s to these hosts (`host`, `host:port`, `*`) are terminated with the proxy's CA */
    hijackHttps: z.array(z.string().regex(/^(\*|\[[0-9a-fA-F:.]+\](:\d{1,5})?|[^\s:/\[\]]+(:\d{1,5})?|[0-9a-fA-F:.]+)$/, 'host, host:port or *').min(1)).optional(),
    /** the interception CA (certificate and key, PEM); default: ca.crt / ca.key in dataDir, made on first use */
    caCert: z.string().min(1).optional(),
    caKey: z.string().min(1).optional(),
    /** origins: PEM CA bundle, S3, Hugging Face and OCI registry credentials */
    caFile: z.string().min(1).optional(),
    s3Endpoint: z.url().optional(),
    s3Region: z.string().min(1).optional(),
    hfToken: z.string().optional(),
    modelscopeEndpoint: z.url().optional(),
    modelscopeToken: z.string().optional(),
    registryUser: z.string().optional(),
    registryPassword: z.string().optional(),
    gc: gcSchema.default({ quota: 0, highWatermark: 0.9, lowWatermark: 0.7, ttlSeconds: 0, intervalSeconds: 60, activeWindowSeconds: 30 }),
    /** the scheduler's libp2p peer id, pinned (for a single scheduler URL without `/p2p/<id>`) */
    schedulerPeerId: z.string().min(1).optional(),
    /** development / lab mode: an unpinned scheduler's identity is taken from its plain-HTTP /api/v1/info */
    dev: z.boolean().default(false),
    /** seeds: origins (host[:port], s3 bucket, hf owner; `*` = all) they may use their own credentials for */
    originCredentialsAllow: z.array(z.string().min(1)).default([]),
    /** seeds: origins on loopback / private / link-local addresses they may fetch from (host or host:port; `*` = all) */
    originAllowPrivate: z.array(z.string().min(1)).default([]),
    /** peers: registries a client may name with X-Dragonfly-Registry or ?ns= besides the mirror and insecure registries */
    allowRegistry: z.array(z.string().min(1)).default([])
  }).strict().refine((c) => (c.caCert == null) === (c.caKey == null), { message: 'caCert and caKey go together', path: ['caKey'] }) as unknown as z.ZodType<DaemonConfigShape>
}

export type SchedulerConfig = z.output<typeof schedulerConfigSchema>
export type GcConfig = z.output<typeof gcSchema>
export interface DaemonConfigShape {
  dataDir: string
  scheduler: string[]
  token?: string
  seedToken?: string
  stallTimeout: number
  pieceTimeout: number
  uploadIdleTimeout: number
  originTimeout: number
  originRetries: number
  pool: string
  idc: string
  host?: string
  apiHost?: string
  metricsHost?: string
  proxyHost?: string
  p2pHost: string
  apiToken?: string
  exportRoots: string[]
  apiPort: number
  metricsPort: number
  p2pPort: number
  dataPort: number
  dataChannel: 'tls' | 'tcp' | 'off'
  directIo: boolean
  pieceCache: number | string
  uploadSlots: number
  uploadRate: number | string
  downloadRate: number | string
  backToSourceRate: number | string
  backToSourceTaskRate: number | string
  backToSourceConcurrency: number
  backToSourceTaskConcurrency: number
  hasherThreads?: number
  logLevel: string
  proxyPort: number
  proxyRule?: string[]
  proxyAllow: string[]
  proxyMaxTunnels: number
  proxyIdleTimeout: number
  registryMirror?: string
  insecureRegistry?: string[]
  hfEndpoint?: string
  hijackHttps?: string[]
  caCert?: string
  caKey?: string
  caFile?: string
  s3Endpoint?: string
  s3Region?: string
  hfToken?: string
  modelscopeEndpoint?: string
  modelscopeToken?: string
  registryUser?: string
  registryPassword?: string
  gc: GcConfig
  schedulerPeerId?: string
  dev: boolean
  originCredentialsAllow: string[]
  originAllowPrivate: string[]
  allowRegistry: string[]
}
export type DaemonConfig = DaemonConfigShape

export interface RoleDefaults { dataDir: string }

/** Defaults differ per role only where two daemons must coexist on one host (ports, data dir, pool). */
export function schemaFor (role: Role, defaults: RoleDefaults): z.ZodType {
  switch (role) {
    case 'scheduler': return schedulerConfigSchema
    case 'seed': return daemonSchema({ dataDir: defaults.dataDir, pool: 'cloud', apiPort: 65012, metricsPort: 65013, p2pPort: 65010, dataPort: 65014 })
    case 'peer': return daemonSchema({ dataDir: defaults.dataDir, pool: 'default', apiPort: 65002, metricsPort: 65003, p2pPort: 65000, dataPort: 65004 })
  }
}

