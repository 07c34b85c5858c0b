import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import type { z } from 'zod'
import { schemaFor, type Role, type RoleDefaults } from './schema.js'

/** Bad configuration: thrown before anything starts, so a daemon never runs half-configured. */
export class ConfigError extends Error {
  override name = 'ConfigError'
  code = 'ERR_CONFIG'
}

type Kind = 'string' | 'number' | 'list' | 'boolean'
interface EnvVar { path: string[], kind: Kind }

const LOG_LEVEL: EnvVar = { path: ['logLevel'], kind: 'string' }

/**
 * Environment variables per role. The scheduler's host/port variables carry a
 * SCHEDULER_ prefix because DAMSELFLY_SCHEDULER already names the scheduler
 * URLs for peers, and both may sit in one shell.
 */
export const ENV_VARS: Record<Role, Record<string, EnvVar>> = {
  scheduler: {
    DAMSELFLY_SCHEDULER_HOST: { path: ['host'], kind: 'string' },
    DAMSELFLY_SCHEDULER_PORT: { path: ['port'], kind: 'number' },
    DAMSELFLY_SCHEDULER_P2P_HOST: { path: ['p2pHost'], kind: 'string' },
    DAMSELFLY_ADMIN_TOKEN: { path: ['adminToken'], kind: 'string' },
    DAMSELFLY_SCHEDULER_P2P_PORT: { path: ['p2pPort'], kind: 'number' },
    DAMSELFLY_SCHEDULER_ANNOUNCE: { path: ['announce'], kind: 'list' },
    DAMSELFLY_TOKEN: { path: ['token'], kind: 'string' },
    DAMSELFLY_ALLOW_PEERS: { path: ['allowPeer'], kind: 'list' },
    DAMSELFLY_SEED_TOKEN: { path: ['seedToken'], kind: 'string' },
    DAMSELFLY_POOL_WAN_BUDGET: { path: ['poolWanBudget'], kind: 'string' },
    DAMSELFLY_ALLOW_IMPORT: { path: ['allowImport'], kind: 'boolean' },
    DAMSELFLY_SCHEDULER_HEARTBEAT_SECONDS: { path: ['heartbeatSeconds'], kind: 'number' },
    DAMSELFLY_SCHEDULER_KEY_FILE: { path: ['keyFile'], kind: 'string' },
    DAMSELFLY_LOG_LEVEL: LOG_LEVEL
  },
  seed: daemonEnv(),
  peer: daemonEnv()
}

function daemonEnv (): Record<string, EnvVar> {
  return {
    DAMSELFLY_DATA_DIR: { path: ['dataDir'], kind: 'string' },
    DAMSELFLY_SCHEDULER: { path: ['scheduler'], kind: 'list' },
    // the pin from a Secret / ConfigMap beside a config file that names the scheduler's URL
    DAMSELFLY_SCHEDULER_PEER_ID: { path: ['schedulerPeerId'], kind: 'string' },
    DAMSELFLY_TOKEN: { path: ['token'], kind: 'string' },
    DAMSELFLY_SEED_TOKEN: { path: ['seedToken'], kind: 'string' },
    DAMSELFLY_POOL: { path: ['pool'], kind: 'string' },
    DAMSELFLY_IDC: { path: ['idc'], kind: 'string' },
    DAMSELFLY_HOST: { path: ['host'], kind: 'string' },
    DAMSELFLY_API_HOST: { path: ['apiHost'], kind: 'string' },
    DAMSELFLY_METRICS_HOST: { path: ['metricsHost'], kind: 'string' },
    DAMSELFLY_PROXY_HOST: { path: ['proxyHost'], kind: 'string' },
    DAMSELFLY_API_TOKEN: { path: ['apiToken'], kind: 'string' },
    DAMSELFLY_EXPORT_ROOTS: { path: ['exportRoots'], kind: 'list' },
    DAMSELFLY_PROXY_ALLOW: { path: ['proxyAllow'], kind: 'list' },
    DAMSELFLY_P2P_HOST: { path: ['p2pHost'], kind: 'string' },
    DAMSELFLY_API_PORT: { path: ['apiPort'], kind: 'number' },
    DAMSELFLY_METRICS_PORT: { path: ['metricsPort'], kind: 'number' },
    DAMSELFLY_P2P_PORT: { path: ['p2pPort'], kind: 'number' },
    DAMSELFLY_DATA_PORT: { path: ['dataPort'], kind: 'number' },
    DAMSELFLY_DATA_CHANNEL: { path: ['dataChannel'], kind: 'string' },
    DAMSELFLY_DIRECT_IO: { path: ['directIo'], kind: 'boolean' },
    DAMSELFLY_PIECE_CACHE: { path: ['pieceCache'], kind: 'string' },
    DAMSELFLY_UPLOAD_SLOTS: { path: ['uploadSlots'], kind: 'number' },
    DAMSELFLY_HASHER_THREADS: { path: ['hasherThreads'], kind: 'number' },
    DAMSELFLY_UPLOAD_RATE: { path: ['uploadRate'], kind: 'string' },
    DAMSELFLY_DOWNLOAD_RATE: { path: ['downloadRate'], kind: 'string' },
    DAMSELFLY_BACK_TO_SOURCE_RATE: { path: ['backToSourceRate'], kind: 'string' },
    DAMSELFLY_BACK_TO_SOURCE_TASK_RATE: { path: ['backToSourceTaskRate'], kind: 'string' },
    DAMSELFLY_BACK_TO_SOURCE_CONCURRENCY: { path: ['backToSourceConcurrency'], kind: 'number' },
    DAMSELFLY_BACK_TO_SOURCE_TASK_CONCURRENCY: { path: ['backToSourceTaskConcurrency'], kind: 'number' },
    DAMSELFLY_LOG_LEVEL: LOG_LEVEL,
    DAMSELFLY_PROXY_PORT: { path: ['proxyPort'], kind: 'number' },
    DAMSELFLY_REGISTRY_MIRROR: { path: ['registryMirror'], kind: 'string' },
    DAMSELFLY_HIJACK_HTTPS: { path: ['hijackHttps'], kind: 'list' },
    DAMSELFLY_CA_CERT: { path: ['caCert'], kind: 'string' },
    DAMSELFLY_CA_KEY: { path: ['caKey'], kind: 'string' },
    // the ecosystem's own names first, so ours (later) win when both are set
    HF_ENDPOINT: { path: ['hfEndpoint'], kind: 'string' },
    DAMSELFLY_HF_ENDPOINT: { path: ['hfEndpoint'], kind: 'string' },
    HF_TOKEN: { path: ['hfToken'], kind: 'string' },
    DAMSELFLY_MODELSCOPE_ENDPOINT: { path: ['modelscopeEndpoint'], kind: 'string' },
    MODELSCOPE_API_TOKEN: { path: ['modelscopeToken'], kind: 'string' },
    DAMSELFLY_REGISTRY_USER: { path: ['registryUser'], kind: 'string' },
    DAMSELFLY_REGISTRY_PASSWORD: { path: ['registryPassword'], kind: 'string' },
    DAMSELFLY_GC_QUOTA: { path: ['gc', 'quota'], kind: 'string' },
    DAMSELFLY_GC_HIGH_WATERMARK: { path: ['gc', 'highWatermark'], kind: 'number' },
    DAMSELFLY_GC_LOW_WATERMARK: { path: ['gc', 'lowWatermark'], kind: 'number' },
    DAMSELFLY_GC_TTL_SECONDS: { path: ['gc', 'ttlSeconds'], kind: 'number' },
    DAMSELFLY_GC_INTERVAL_SECONDS: { path: ['gc', 'intervalSeconds'], kind: 'number' }
  }
}

export interface ConfigLayers {
  /** parsed YAML of the role's config file */
  file?: unknown
  /** where `file` came from, for error messages */
  filePath?: string
  /** the process environment (passed in: libraries do not read it) */
  env?: Record<string, string | undefined>
  /** values given as command-line flags, already in config shape */
  flags?: Record<string, unknown>
}

export interface ResolvedConfig<T> {
  config: T
  /** where each setting came from: 'default', 'file', 'env:NAME' or 'flag' */
  sources: Record<string, string>
}

/** Parses a config file's text; YAML (and so JSON) objects only. */
export function parseConfigText (text: string, path = 'config'): Record<string, unknown> {
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err: any) {
    throw new ConfigError(`${path}: not valid YAML: ${err.message}`)
  }
  if (doc == null) return {}
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${path}: the top level must be a mapping of settings`)
  return doc as Record<string, unknown>
}

/** Merges the layers (flags > env > file > defaults) and validates the result. */
export function resolveConfig<T = unknown> (role: Role, layers: ConfigLayers, defaults: RoleDefaults = { dataDir: '.damselfly' }): ResolvedConfig<T> {
  const merged: Record<string, unknown> = {}
  const sources: Record<string, string> = {}
  if (layers.file != null) {
    if (typeof layers.file !== 'object' || Array.isArray(layers.file)) throw new ConfigError(`${layers.filePath ?? 'config file'}: the top level must be a mapping of settings`)
    overlay(merged, layers.file as Record<string, unknown>, 'file', sources, [])
  }
  for (const [name, v] of Object.entries(ENV_VARS[role])) {
    const raw = layers.env?.[name]
    if (raw == null || raw === '') continue
    setPath(merged, v.path, coerce(raw, v.kind))
    sources[v.path.join('.')] = `env:${name}`
  }
  if (layers.flags != null) overlay(merged, layers.flags, 'flag', sources, [])

  const result = schemaFor(role, defaults).safeParse(merged)
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const keys = (i as { keys?: string[] }).keys
      const where = keys != null ? keys.join(', ') : i.path.join('.')
      const from = sources[i.path.join('.')] ?? (keys != null ? 'file' : 'default')
      const origin = from === 'file' ? (layers.filePath ?? 'config file') : from === 'flag' ? 'command line' : from.startsWith('env:') ? `environment ${from.slice(4)}` : from
      return `  ${where === '' ? '(top level)' : where}: ${i.message} (from ${origin})`
    })
    throw new ConfigError(`invalid ${role} configuration:\n${lines.join('\n')}`)
  }
  return { config: result.data as T, sources }
}

function overlay (into: Record<string, unknown>, from: Record<string, unknown>, source: string, sources: Record<string, string>, prefix: string[]): void {
  for (const [k, v] of Object.entries(from)) {
    if (v === undefined) continue
    const path = [...prefix, k]
    if (v != null && typeof v === 'object' && !Array.isArray(v)) {
      const sub = (into[k] != null && typeof into[k] === 'object' && !Array.isArray(into[k]) ? into[k] : {}) as Record<string, unknown>
      into[k] = sub
      overlay(sub, v as Record<string, unknown>, source, sources, path)
    } else {
      into[k] = v
      sources[path.join('.')] = source
    }
  }
}

function setPath (obj: Record<string, unknown>, path: string[], value: unknown): void {
  let o = obj
  for (const k of path.slice(0, -1)) {
    if (o[k] == null || typeof o[k] !== 'object') o[k] = {}
    o = o[k] as Record<string, unknown>
  }
  o[path[path.length - 1]] = value
}

function coerce (raw: string, kind: Kind): unknown {
  switch (kind) {
    // a non-numeric value stays a string so the schema names the variable in its error
    case 'number': return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw
    case 'list': return raw.split(',').map((s) => s.trim()).filter(Boolean)
    // anything else stays a string, for the schema to name the variable in its error
    case 'boolean': return /^(1|true|yes|on)$/i.test(raw.trim()) ? true : /^(0|false|no|off)$/i.test(raw.trim()) ? false : raw
    default: return raw
  }
}

const SECRET = /(token|secret|password|passwd|credential|private.?key|api.?key|access.?key)$/i

/** A copy safe to print: every secret-looking value that is set becomes "********". */
export function maskSecrets<T> (value: T): T {
  if (Array.isArray(value)) return value.map(maskSecrets) as T
  if (value == null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET.test(k) && v != null && v !== '' && typeof v !== 'object' ? '********' : maskSecrets(v)
  }
  return out as T
}

export function toYaml (value: unknown): string {
  return stringifyYaml(value)
}

/**
 * Turns commander's parsed options into the flags layer: only values the user
 * typed (commander's own defaults and env reading are ignored, so precedence
 * is decided here alone).
 */
export function flagsFrom (opts: Record<string, unknown>, sourceOf: (key: string) => string | undefined, lists: string[] = []): Record<string, unknown> {
  const flags: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(opts)) {
    if (sourceOf(k) !== 'cli' || k === 'config' || k === 'json') continue
    flags[k] = lists.includes(k) && typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v
  }
  return flags
}
