import { Command, Option } from 'commander'
import { resolve } from 'node:path'
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { createLogger } from '@damselfly/utils'
import { loadConfig, parseBytes, parseRate, flagsFrom, ConfigError, type DaemonConfig, type Role } from '@damselfly/config'
import { Daemon, type DaemonInit } from '@damselfly/peer'
import { originSeeder } from '@damselfly/seed-peer'
import { DEFAULT_HF_ENDPOINT } from '@damselfly/proxy'
import { addBackendOptions, backendsInitFrom } from './backend-options.js'
import { untilSignal } from './signals.js'
import { libp2pDebugWanted } from './libp2p-debug.js'
import type { BackendsInit } from '@damselfly/backend'

const LOOPBACK = '127.0.0.1'

export interface DaemonCommandDefaults {
  name: string
  description: string
  seed: boolean
  apiPort: number
  metricsPort: number
  p2pPort: number
  dataPort: number
  /** the HTTP proxy's port; no proxy (and no proxy flags) when omitted */
  proxyPort?: number
  pool: string
  examples: string
}

/** Reads `--config` (or DAMSELFLY_CONFIG) and layers env and the typed flags over it; exits 2 on invalid config. */
export function loadRoleConfig<T> (role: Role, cmd: Command, flags: Record<string, unknown>): T {
  try {
    return loadConfig<T>(role, { path: cmd.opts().config, env: process.env, flags, defaults: { dataDir: defaultDataDir(role) } }).config
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`damselfly ${cmd.name()}: ${err.message}\n`)
    process.exit(2)
  }
}

export function defaultDataDir (role: Role): string {
  return resolve(homedir(), '.damselfly', role === 'seed' ? 'seed' : 'peer')
}

/** Turns the validated config into the daemon's typed init (the only place config shape meets library shape). */
export function daemonInit (c: DaemonConfig, seed: boolean, name: string, withProxy = !seed, env: NodeJS.ProcessEnv = process.env): DaemonInit {
  // the seed role is composed in here, the one place that knows which role a process plays
  return {
    dataDir: resolve(c.dataDir),
    directIo: c.directIo,
    pieceCacheBytes: parseBytes(c.pieceCache),
    log: createLogger(name, c.logLevel),
    schedulerUrls: c.scheduler.length > 0 ? c.scheduler : undefined,
    // a seed authenticates with its seed token, which the scheduler also accepts as cluster membership
    token: seed && c.seedToken != null ? c.seedToken : c.token,
    clusterToken: c.token,
    schedulerPeerIds: c.schedulerPeerId != null && c.scheduler.length === 1 ? { [c.scheduler[0]]: c.schedulerPeerId } : undefined,
    dev: c.dev,
    originPolicy: { ownCredentials: c.originCredentialsAllow, allowPrivate: c.originAllowPrivate },
    seeder: seed ? originSeeder() : undefined,
    download: { stallMs: c.stallTimeout },
    pieceTimeoutMs: c.pieceTimeout,
    uploadIdleTimeoutMs: c.uploadIdleTimeout,
    labels: { pool: c.pool, idc: c.idc },
    uploadSlots: c.uploadSlots,
    limits: {
      uploadRate: parseRate(c.uploadRate),
      downloadRate: parseRate(c.downloadRate),
      backToSourceRate: parseRate(c.backToSourceRate),
      backToSourceTaskRate: parseRate(c.backToSourceTaskRate),
      backToSourceConcurrency: c.backToSourceConcurrency,
      backToSourceTaskConcurrency: c.backToSourceTaskConcurrency
    },
    hasherThreads: c.hasherThreads,
    backends: withOriginLimits(backendsInitFrom({
      caFile: c.caFile,
      s3Endpoint: c.s3Endpoint,
      s3Region: c.s3Region,
      hfEndpoint: c.hfEndpoint,
      hfToken: c.hfToken,
      modelscopeEndpoint: c.modelscopeEndpoint,
      modelscopeToken: c.modelscopeToken,
      registryUser: c.registryUser,
      registryPassword: c.registryPassword,
      insecureRegistry: c.insecureRegistry
    }, env), c.originTimeout, c.originRetries),
    p2p: { host: c.p2pHost, port: c.p2pPort, dataPort: c.dataPort, dataChannel: c.dataChannel, libp2pDebug: libp2pDebugWanted() },
    // `host` is the old single setting; each listener's own setting wins, and loopback is the default
    api: { host: c.apiHost ?? c.host ?? LOOPBACK, port: c.apiPort, token: c.apiToken, exportRoots: c.exportRoots.map((r) => resolve(r)) },
    metrics: { host: c.metricsHost ?? c.host ?? LOOPBACK, port: c.metricsPort },
    proxy: withProxy
      ? {
          host: c.proxyHost ?? c.host ?? LOOPBACK,
          port: c.proxyPort,
          rules: c.proxyRule,
          allow: c.proxyAllow,
          maxTunnels: c.proxyMaxTunnels,
          idleTimeoutMs: c.proxyIdleTimeout,
          registry: { mirror: c.registryMirror, insecure: c.insecureRegistry, allow: c.allowRegistry },
          huggingFace: { endpoint: c.hfEndpoint },
          modelScope: { endpoint: c.modelscopeEndpoint },
          upstream: { ca: c.caFile != null ? readFileSync(c.caFile, 'utf8') : undefined },
          hijackHttps: (c.hijackHttps?.length ?? 0) > 0
            ? { hosts: c.hijackHttps!, dataDir: resolve(c.dataDir), ca: c.caCert != null && c.caKey != null ? { certPath: resolve(c.caCert), keyPath: resolve(c.caKey) } : undefined }
            : undefined
        }
      : undefined,
    gc: {
      quotaBytes: parseBytes(c.gc.quota),
      highWatermark: c.gc.highWatermark,
      lowWatermark: c.gc.lowWatermark,
      ttlMs: c.gc.ttlSeconds * 1000,
      intervalMs: c.gc.intervalSeconds * 1000,
      activeWindowMs: c.gc.activeWindowSeconds * 1000
    }
  }
}

function withOriginLimits (b: BackendsInit, idleTimeoutMs: number, maxRetries: number): BackendsInit {
  return { ...b, http: { ...b.http, idleTimeoutMs, maxRetries } }
}

/** What `damselfly daemon` and `damselfly seed` differ in: the seed role, default ports and pool. */
export const ROLES: Record<'peer' | 'seed', DaemonCommandDefaults> = {
  peer: {
    name: 'daemon',
    description: 'run a peer daemon: downloads for local clients, uploads to other peers',
    seed: false,
    apiPort: 65002,
    metricsPort: 65003,
    p2pPort: 65000,
    dataPort: 65004,
    proxyPort: 65001,
    pool: 'default',
    examples: '  damselfly daemon --scheduler http://scheduler:8002 --pool edge-a\n  damselfly daemon --scheduler http://scheduler:8002 --proxy-port 65001 --registry-mirror https://registry-1.docker.io\n  DAMSELFLY_SCHEDULER=http://127.0.0.1:8002 damselfly daemon --data-dir /var/lib/damselfly\n'
  },
  seed: {
    name: 'seed',
    description: 'run a seed peer: pulls content from the origin once, cuts and hashes pieces, serves them',
    seed: true,
    apiPort: 65012,
    metricsPort: 65013,
    p2pPort: 65010,
    dataPort: 65014,
    pool: 'cloud',
    examples: '  damselfly seed --scheduler http://scheduler:8002\n  damselfly seed --scheduler http://127.0.0.1:8002 --data-dir /var/lib/damselfly-seed --pool cloud\n'
  }
}

/** `damselfly daemon` / `damselfly seed`: runs the role until SIGINT/SIGTERM. */
export function roleCommand (role: 'peer' | 'seed'): Command {
  return daemonCommand(ROLES[role], async (daemon, opts) => {
    const endpoints = await daemon.start().catch(async (err) => {
      // a refused setup (an unpinned scheduler) is the operator's to fix: say so, as for invalid config
      if (err?.code !== 'ERR_UNAUTHORIZED') throw err
      await daemon.stop().catch(() => {})
      process.stderr.write(`damselfly ${ROLES[role].name}: ${String(err.message)}\n`)
      process.exit(2)
    })
    if (opts.json === true) process.stdout.write(JSON.stringify({ role, ...endpoints }) + '\n')
    await untilSignal(async () => { await daemon.stop() })
  })
}

/** The flags every peer-like daemon understands; `peer` and `seed-peer` differ only in defaults. */
function daemonCommand (d: DaemonCommandDefaults, run: (daemon: Daemon, opts: any) => Promise<void>): Command {
  const role: Role = d.seed ? 'seed' : 'peer'
  const cmd = new Command(d.name)
    .description(d.description)
    .addOption(new Option('-c, --config <file>', `YAML config file for the ${role} role (flags > env > file > defaults)`).env('DAMSELFLY_CONFIG'))
    .addOption(new Option('--data-dir <dir>', 'where pieces and the peer identity are kept').default(defaultDataDir(role)).env('DAMSELFLY_DATA_DIR'))
    .addOption(new Option('--scheduler <urls>', 'scheduler HTTP URL(s), comma-separated, each pinned to its identity: http://host:8002/p2p/<peerId> (tasks are spread over them by consistent hashing)').env('DAMSELFLY_SCHEDULER'))
    .addOption(new Option('--scheduler-peer-id <id>', 'the scheduler\'s libp2p peer id (pins a single --scheduler URL given without /p2p/<id>)').env('DAMSELFLY_SCHEDULER_PEER_ID'))
    .addOption(new Option('--dev', 'development / lab mode: trust an unpinned scheduler\'s identity from its plain-HTTP /api/v1/info').env('DAMSELFLY_DEV'))
    .addOption(new Option('--origin-credentials-allow <origin>', 'seeds: an origin (host[:port], s3 bucket, hf owner; * = all) this seed may fetch with its own credentials (repeatable)').argParser(collect))
    .addOption(new Option('--origin-allow-private <origin>', 'seeds: an origin on a loopback/private/link-local address this seed may fetch from (host or host:port; repeatable)').argParser(collect))
    .addOption(new Option('--token <token>', 'cluster token').env('DAMSELFLY_TOKEN'))
    .addOption(new Option('--pool <name>', 'node pool (region) of this host').default(d.pool).env('DAMSELFLY_POOL'))
    .addOption(new Option('--idc <name>', 'data centre / zone label').default('').env('DAMSELFLY_IDC'))
    .addOption(new Option('--host <host>', 'deprecated: sets --api-host, --metrics-host and --proxy-host together').env('DAMSELFLY_HOST'))
    .addOption(new Option('--api-host <host>', 'address of the local API (keep it on loopback)').default(LOOPBACK).env('DAMSELFLY_API_HOST'))
    .addOption(new Option('--metrics-host <host>', 'address of the Prometheus metrics listener').default(LOOPBACK).env('DAMSELFLY_METRICS_HOST'))
    .addOption(new Option('--p2p-host <host>', 'address libp2p and the data channel listen on (the only listeners other hosts need)').default(LOOPBACK).env('DAMSELFLY_P2P_HOST'))
    .addOption(new Option('--export-root <dir>', 'directory the local API may write outputs under (repeatable; none: clients write their outputs themselves)').argParser(collect))
    .addOption(new Option('--api-port <port>', 'local API port').default(d.apiPort).argParser(Number).env('DAMSELFLY_API_PORT'))
    .addOption(new Option('--metrics-port <port>', 'Prometheus metrics port').default(d.metricsPort).argParser(Number).env('DAMSELFLY_METRICS_PORT'))
    .addOption(new Option('--p2p-port <port>', 'libp2p port').default(d.p2pPort).argParser(Number).env('DAMSELFLY_P2P_PORT'))
    .addOption(new Option('--data-port <port>', 'data channel port (pieces over TLS/TCP beside libp2p, on --p2p-host)').default(d.dataPort).argParser(Number).env('DAMSELFLY_DATA_PORT'))
    .addOption(new Option('--data-channel <mode>', 'how pieces travel: tls (encrypted; the default), tcp (plain TCP inside this node pool, BLAKE3-verified; TLS to other pools all the same) or off (libp2p streams only)').choices(['tls', 'tcp', 'off']).default('tls').env('DAMSELFLY_DATA_CHANNEL'))
    .addOption(new Option('--no-direct-io', 'keep pieces in the page cache (buffered I/O) instead of O_DIRECT'))
    .addOption(new Option('--piece-cache <size>', 'memory for recent pieces, so uploads of a fresh piece skip the disk, e.g. 256MiB (0 = off; default 32MiB)').env('DAMSELFLY_PIECE_CACHE'))
    .addOption(new Option('--upload-slots <n>', 'concurrent upload streams').default(32).argParser(Number).env('DAMSELFLY_UPLOAD_SLOTS'))
    .addOption(new Option('--upload-rate <rate>', 'piece bytes/s sent to other peers, all tasks together, e.g. 30MiB (0 = unlimited; change at run time with PUT /api/v1/limits)').env('DAMSELFLY_UPLOAD_RATE'))
    .addOption(new Option('--download-rate <rate>', 'bytes/s received from peers and the origin together (0 = unlimited)').env('DAMSELFLY_DOWNLOAD_RATE'))
    .addOption(new Option('--back-to-source-rate <rate>', 'bytes/s read from origins, all tasks together (0 = unlimited)').env('DAMSELFLY_BACK_TO_SOURCE_RATE'))
    .addOption(new Option('--back-to-source-task-rate <rate>', 'bytes/s read from the origin for any one task (0 = unlimited)').env('DAMSELFLY_BACK_TO_SOURCE_TASK_RATE'))
    .addOption(new Option('--back-to-source-concurrency <n>', 'origin requests this peer runs at once, all tasks together; the rest queue (0 = unlimited)').argParser(Number).env('DAMSELFLY_BACK_TO_SOURCE_CONCURRENCY'))
    .addOption(new Option('--back-to-source-task-concurrency <n>', 'ranged origin requests any one task runs at once, its missing pieces split between them (default 1)').argParser(Number).env('DAMSELFLY_BACK_TO_SOURCE_TASK_CONCURRENCY'))
    .addOption(new Option('--hasher-threads <n>', 'BLAKE3 worker threads').argParser(Number).env('DAMSELFLY_HASHER_THREADS'))
    .addOption(new Option('--gc-quota <size>', 'cache quota, e.g. 20GiB (0 = unlimited)').env('DAMSELFLY_GC_QUOTA'))
    .addOption(new Option('--gc-ttl <seconds>', 'remove tasks unused this long (0 = never)').argParser(Number).env('DAMSELFLY_GC_TTL_SECONDS'))
    .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error').env('DAMSELFLY_LOG_LEVEL'))
    .addOption(new Option('--seed-token <token>', 'seed peers: token that authorises this daemon as a seed (scheduler --seed-token)').env('DAMSELFLY_SEED_TOKEN').hideHelp(!d.seed))
    .addOption(new Option('--stall-timeout <ms>', 'go back to source after this long without a verified piece from peers').argParser(Number))
    .addOption(new Option('--piece-timeout <ms>', 'drop a parent that sends nothing for this long').argParser(Number))
    .addOption(new Option('--upload-idle-timeout <ms>', 'drop an upload stream whose reader takes nothing for this long').argParser(Number))
    .addOption(new Option('--origin-timeout <ms>', 'give up on an origin attempt that sends nothing for this long').argParser(Number))
    .addOption(new Option('--origin-retries <n>', 'retries per origin request (5xx, resets, timeouts), with backoff').argParser(Number))
    .option('--json', 'print one JSON line with the endpoints once ready')
    .addHelpText('after', `\nExamples:\n${d.examples}  damselfly ${d.name} --config /etc/damselfly/${role}.yaml\n`)
    .action(async (opts, cmd: Command) => {
      const gc: Record<string, unknown> = {}
      if (cmd.getOptionValueSource('gcQuota') === 'cli') gc.quota = /^\d+$/.test(opts.gcQuota) ? Number(opts.gcQuota) : opts.gcQuota
      if (cmd.getOptionValueSource('gcTtl') === 'cli') gc.ttlSeconds = opts.gcTtl
      const flags = flagsFrom(opts, (k) => cmd.getOptionValueSource(k), ['scheduler'])
      delete flags.gcQuota
      delete flags.gcTtl
      // one flag per root on the command line, a list in the config; relative to where it is typed
      if (flags.exportRoot != null) { flags.exportRoots = (flags.exportRoot as string[]).map((r) => resolve(r)); delete flags.exportRoot }
      const config = loadRoleConfig<DaemonConfig>(role, cmd, Object.keys(gc).length > 0 ? { ...flags, gc } : flags)
      await run(new Daemon(daemonInit(config, d.seed, d.name, d.proxyPort != null)), opts)
    })
  if (d.proxyPort != null) addProxyOptions(cmd, d.proxyPort)
  // after the proxy's: a flag both use (--hf-endpoint, --insecure-registry) is defined once, by the proxy
  addBackendOptions(cmd)
  return cmd
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]
const collectList = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)]

function addProxyOptions (cmd: Command, port: number): void {
  cmd
    .addOption(new Option('--proxy-host <host>', 'address of the HTTP proxy').default(LOOPBACK).env('DAMSELFLY_PROXY_HOST'))
    .addOption(new Option('--proxy-port <port>', 'HTTP proxy port (registry mirror, HF endpoint, HTTP_PROXY); 0 = any free port').default(port).argParser(Number).env('DAMSELFLY_PROXY_PORT'))
    .addOption(new Option('--proxy-allow <host[:port]>', 'destination the proxy may reach although loopback, link-local or private: host[:port], [v6][:port], CIDR or *.suffix (repeatable)').argParser(collect))
    .addOption(new Option('--proxy-max-tunnels <n>', 'CONNECT tunnels open at once').argParser(Number))
    .addOption(new Option('--proxy-idle-timeout <ms>', 'close a tunnel or client connection idle this long').argParser(Number))
    .addOption(new Option('--proxy-rule <regex>', 'forward-proxied GETs whose origin+path match go through P2P (repeatable; replaces the defaults)').argParser(collect))
    .addOption(new Option('--registry-mirror <url>', 'upstream registry for /v2/ requests that name none (skopeo/podman mirrors)').env('DAMSELFLY_REGISTRY_MIRROR'))
    .addOption(new Option('--insecure-registry <host:port>', 'registry reached over plain HTTP (repeatable; loopback always is)').argParser(collect))
    .addOption(new Option('--allow-registry <host:port>', 'a registry clients may name with X-Dragonfly-Registry or ?ns= (repeatable; the mirror and --insecure-registry ones always may)').argParser(collect))
    .addOption(new Option('--hf-endpoint <url>', 'Hugging Face hub behind <proxy>/hf').default(DEFAULT_HF_ENDPOINT).env('DAMSELFLY_HF_ENDPOINT'))
    .addOption(new Option('--hijack-https <host[:port]>', 'intercept HTTPS (CONNECT) to this host with the proxy\'s CA so its GETs can go through P2P (repeatable or comma-separated; * = every host)').argParser(collectList).env('DAMSELFLY_HIJACK_HTTPS'))
    .addOption(new Option('--ca-cert <path>', 'PEM certificate of the CA that signs intercepted hosts\' certificates (default: <data-dir>/ca.crt, made on first use)').env('DAMSELFLY_CA_CERT'))
    .addOption(new Option('--ca-key <path>', 'PEM private key of --ca-cert').env('DAMSELFLY_CA_KEY'))
}
