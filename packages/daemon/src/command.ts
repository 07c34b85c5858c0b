import { Command, Option } from 'commander'
import { resolve } from 'node:path'
import { homedir } from 'node:os'
import { createLogger } from '@damselfly/utils'
import { Daemon, type DaemonInit } from './daemon.js'
import { DEFAULT_HF_ENDPOINT, type ProxyInit } from '@damselfly/proxy'

export interface DaemonCommandDefaults {
  name: string
  description: string
  seed: boolean
  apiPort: number
  metricsPort: number
  p2pPort: number
  /** the HTTP proxy's port; no proxy (and no proxy flags) when omitted */
  proxyPort?: number
  pool: string
  examples: string
}

/** The flags every peer-like daemon understands; `peer` and `seed-peer` differ only in defaults. */
export function daemonCommand (d: DaemonCommandDefaults, run: (daemon: Daemon, opts: any) => Promise<void>): Command {
  const cmd = new Command(d.name)
    .description(d.description)
    .addOption(new Option('--data-dir <dir>', 'where pieces and the peer identity are kept').default(resolve(homedir(), '.damselfly', d.seed ? 'seed' : 'peer')).env('DAMSELFLY_DATA_DIR'))
    .addOption(new Option('--scheduler <urls>', 'scheduler HTTP URL(s), comma-separated: tasks are spread over them by consistent hashing').env('DAMSELFLY_SCHEDULER'))
    .addOption(new Option('--token <token>', 'cluster token').env('DAMSELFLY_TOKEN'))
    .addOption(new Option('--pool <name>', 'node pool (region) of this host').default(d.pool).env('DAMSELFLY_POOL'))
    .addOption(new Option('--idc <name>', 'data centre / zone label').default('').env('DAMSELFLY_IDC'))
    .addOption(new Option('--host <host>', 'address for the local API and metrics').default('127.0.0.1'))
    .addOption(new Option('--p2p-host <host>', 'address libp2p listens on').default('127.0.0.1'))
    .addOption(new Option('--api-port <port>', 'local API port').default(d.apiPort).argParser(Number))
    .addOption(new Option('--metrics-port <port>', 'Prometheus metrics port').default(d.metricsPort).argParser(Number))
    .addOption(new Option('--p2p-port <port>', 'libp2p port').default(d.p2pPort).argParser(Number))
    .addOption(new Option('--upload-slots <n>', 'concurrent upload streams').default(32).argParser(Number))
    .addOption(new Option('--hasher-threads <n>', 'BLAKE3 worker threads').argParser(Number))
    .addOption(new Option('--seed-token <token>', 'seed peers: token that authorises this daemon as a seed (scheduler --seed-token)').env('DAMSELFLY_SEED_TOKEN').hideHelp(!d.seed))
    .addOption(new Option('--stall-timeout <ms>', 'go back to source after this long without a verified piece from peers').default(15_000).argParser(Number))
    .addOption(new Option('--piece-timeout <ms>', 'drop a parent that sends nothing for this long').default(30_000).argParser(Number))
    .addOption(new Option('--upload-idle-timeout <ms>', 'drop an upload stream whose reader takes nothing for this long').default(30_000).argParser(Number))
    .addOption(new Option('--origin-timeout <ms>', 'give up on an origin attempt that sends nothing for this long').default(30_000).argParser(Number))
    .addOption(new Option('--origin-retries <n>', 'retries per origin request (5xx, resets, timeouts), with backoff').default(5).argParser(Number))
    .option('--json', 'print one JSON line with the endpoints once ready')
    .addHelpText('after', `\nExamples:\n${d.examples}`)
    .action(async (opts) => {
      const init: DaemonInit = {
        dataDir: resolve(opts.dataDir),
        log: createLogger(d.name),
        schedulerUrls: opts.scheduler != null ? String(opts.scheduler).split(',').map((s: string) => s.trim()).filter(Boolean) : undefined,
        // a seed authenticates with its seed token, which the scheduler also accepts as cluster membership
        token: d.seed && opts.seedToken != null ? opts.seedToken : opts.token,
        seed: d.seed,
        labels: { pool: opts.pool, idc: opts.idc },
        uploadSlots: opts.uploadSlots,
        hasherThreads: opts.hasherThreads,
        p2p: { host: opts.p2pHost, port: opts.p2pPort },
        download: { stallMs: opts.stallTimeout },
        pieceTimeoutMs: opts.pieceTimeout,
        uploadIdleTimeoutMs: opts.uploadIdleTimeout,
        backends: { http: { idleTimeoutMs: opts.originTimeout, maxRetries: opts.originRetries } },
        api: { host: opts.host, port: opts.apiPort },
        metrics: { host: opts.host, port: opts.metricsPort },
        proxy: d.proxyPort != null ? proxyInit(opts) : undefined
      }
      await run(new Daemon(init), opts)
    })
  if (d.proxyPort != null) addProxyOptions(cmd, d.proxyPort)
  return cmd
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

function addProxyOptions (cmd: Command, port: number): void {
  cmd
    .addOption(new Option('--proxy-port <port>', 'HTTP proxy port (registry mirror, HF endpoint, HTTP_PROXY); 0 = any free port').default(port).argParser(Number))
    .addOption(new Option('--proxy-rule <regex>', 'forward-proxied GETs whose origin+path match go through P2P (repeatable; replaces the defaults)').argParser(collect))
    .addOption(new Option('--registry-mirror <url>', 'upstream registry for /v2/ requests that name none (skopeo/podman mirrors)').env('DAMSELFLY_REGISTRY_MIRROR'))
    .addOption(new Option('--insecure-registry <host:port>', 'registry reached over plain HTTP (repeatable; loopback always is)').argParser(collect))
    .addOption(new Option('--hf-endpoint <url>', 'Hugging Face hub behind <proxy>/hf').default(DEFAULT_HF_ENDPOINT).env('DAMSELFLY_HF_ENDPOINT'))
}

function proxyInit (opts: any): ProxyInit {
  return {
    host: opts.host,
    port: opts.proxyPort,
    rules: opts.proxyRule,
    registry: { mirror: opts.registryMirror, insecure: opts.insecureRegistry },
    huggingFace: { endpoint: opts.hfEndpoint }
  }
}
