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
export const schedulerConfigSchema = z.object({
  host: host.default('127.0.0.1'),
  port: port.default(8002),
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
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info')
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
    host: host.default('127.0.0.1'),
    p2pHost: host.default('127.0.0.1'),
    apiPort: port.default(d.apiPort),
    metricsPort: port.default(d.metricsPort),
    p2pPort: port.default(d.p2pPort),
    /** data channel port (on p2pHost): pieces over TLS/TCP beside libp2p */
    dataPort: port.default(d.dataPort),
    /** how piece bytes travel: `tcp` (default; unencrypted, BLAKE3-verified), `tls` (encrypted too), `off` (libp2p streams only) */
    dataChannel: z.enum(['tls', 'tcp', 'off']).default('tcp'),
    /** pieces to and from disk with O_DIRECT, bypassing the page cache (false: buffered) */
    directIo: z.boolean().default(true),
    /** memory for the pieces most recently stored or sent, so a swarm's requests for a fresh piece skip the disk; 0 = off */
    pieceCache: bytes.default('64MiB'),
    uploadSlots: z.number().int().positive().default(32),
    /** piece bytes/s sent to other peers, all tasks together; 0 = unlimited (changeable at run time: PUT /api/v1/limits) */
    uploadRate: rate.default(0),
    /** bytes/s received from parents and the origin together; 0 = unlimited */
    downloadRate: rate.default(0),
    /** bytes/s from the origin, all tasks together; 0 = unlimited */
    backToSourceRate: rate.default(0),
    /** bytes/s from the origin for any one task; 0 = unlimited */
    backToSourceTaskRate: rate.default(0),
    /** tasks reading the origin at once; 0 = unlimited */
    backToSourceConcurrency: z.number().int().nonnegative().default(0),
    hasherThreads: z.number().int().positive().optional(),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /** the peer's HTTP proxy (peers only) */
    proxyPort: port.default(65001),
    proxyRule: z.array(z.string().min(1)).optional(),
    registryMirror: z.url().optional(),
    insecureRegistry: z.array(z.string().min(1)).optional(),
    hfEndpoint: z.url().optional(),
    /** origins: PEM CA bundle, S3, Hugging Face and OCI registry credentials */
    caFile: z.string().min(1).optional(),
    s3Endpoint: z.url().optional(),
    s3Region: z.string().min(1).optional(),
    hfToken: z.string().optional(),
    modelscopeEndpoint: z.url().optional(),
    modelscopeToken: z.string().optional(),
    registryUser: z.string().optional(),
    registryPassword: z.string().optional(),
    gc: gcSchema.default({ quota: 0, highWatermark: 0.9, lowWatermark: 0.7, ttlSeconds: 0, intervalSeconds: 60, activeWindowSeconds: 30 })
  }).strict() as unknown as z.ZodType<DaemonConfigShape>
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
  host: string
  p2pHost: string
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
  hasherThreads?: number
  logLevel: string
  proxyPort: number
  proxyRule?: string[]
  registryMirror?: string
  insecureRegistry?: string[]
  hfEndpoint?: string
  caFile?: string
  s3Endpoint?: string
  s3Region?: string
  hfToken?: string
  modelscopeEndpoint?: string
  modelscopeToken?: string
  registryUser?: string
  registryPassword?: string
  gc: GcConfig
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

