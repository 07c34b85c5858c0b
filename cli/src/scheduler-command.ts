import { Command, Option } from 'commander'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { createLogger } from '@damselfly/utils'
import { createScheduler, schedulerPeerId } from '@damselfly/scheduler'
import { untilSignal } from './signals.js'
import { libp2pDebugWanted } from './libp2p-debug.js'
import { loadConfig, flagsFrom, parseRate, ConfigError, type SchedulerConfig } from '@damselfly/config'

/** Reads `--config` (or DAMSELFLY_CONFIG), layers env and flags over it; exits 2 on invalid config. */
function loadSchedulerConfig (cmd: Command): SchedulerConfig {
  try {
    const flags = flagsFrom(cmd.opts(), (k) => cmd.getOptionValueSource(k))
    // an action, not a setting
    delete flags.printPeerId
    return loadConfig<SchedulerConfig>('scheduler', { path: cmd.opts().config, env: process.env, flags }).config
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`damselfly scheduler: ${err.message}\n`)
    process.exit(2)
  }
}

/** `damselfly scheduler`: runs the scheduler until SIGINT/SIGTERM. */
export function schedulerCommand (): Command {
  return new Command('scheduler')
    .description('run the scheduler: tasks, peers, piece availability and parent choice; serves the dashboard at /dashboard')
    .addOption(new Option('-c, --config <file>', 'YAML config file for the scheduler role (flags > env > file > defaults)').env('DAMSELFLY_CONFIG'))
    .addOption(new Option('--host <host>', 'address of the HTTP API (discovery, preheat, dashboard, metrics)').default('127.0.0.1').env('DAMSELFLY_SCHEDULER_HOST'))
    .addOption(new Option('--p2p-host <host>', 'address of the libp2p listener peers keep their session on').default('127.0.0.1').env('DAMSELFLY_SCHEDULER_P2P_HOST'))
    .addOption(new Option('--port <port>', 'HTTP API port').default(8002).argParser(Number).env('DAMSELFLY_SCHEDULER_PORT'))
    .addOption(new Option('--p2p-port <port>', 'libp2p port peers keep their session on').default(8003).argParser(Number).env('DAMSELFLY_SCHEDULER_P2P_PORT'))
    .addOption(new Option('--token <token>', 'cluster token peers must present').env('DAMSELFLY_TOKEN'))
    .option('--allow-peer <id...>', 'only these libp2p peer ids may register')
    .addOption(new Option('--seed-token <token>', 'token a peer must present to act as a seed peer (publish manifests)').env('DAMSELFLY_SEED_TOKEN'))
    .option('--allow-seed <id...>', 'libp2p peer ids allowed to act as seed peers without the seed token')
    .addOption(new Option('--pool-wan-budget <rate>', 'bytes/s each node pool may take in and send out across pools, e.g. 50MiB (0 = unlimited): plans stop offering parents from another pool while a pool is at its budget').env('DAMSELFLY_POOL_WAN_BUDGET'))
    .addOption(new Option('--admin-token <token>', 'bearer token for preheat (default: the cluster token; with neither, preheat is refused)').env('DAMSELFLY_ADMIN_TOKEN'))
    .addOption(new Option('--key-file <path>', 'where the scheduler\'s libp2p identity is kept (peers pin its peer id: --scheduler http://host:8002/p2p/<peerId>)').env('DAMSELFLY_SCHEDULER_KEY_FILE'))
    .addOption(new Option('--dev', 'development / lab mode: without a seed token, any peer may claim to be a seed').env('DAMSELFLY_DEV'))
    .addOption(new Option('--heartbeat-seconds <s>', 'how often each peer session gets a heartbeat: a peer silent for three is dropped, a peer that hears none for three reconnects').default(10).argParser(Number).env('DAMSELFLY_SCHEDULER_HEARTBEAT_SECONDS'))
    .option('--allow-import', 'let peers publish tasks made from local files (damselfly cache import) that no one else has a manifest for; the importer becomes that task\'s seed')
    .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error').env('DAMSELFLY_LOG_LEVEL'))
    .option('--json', 'print one JSON line with the endpoints once ready')
    .option('--print-peer-id', 'create the --key-file if it does not exist, print the peer id peers pin (http://host:8002/p2p/<peerId>) and exit')
    .addHelpText('after', '\nExamples:\n  damselfly scheduler\n  damselfly scheduler --key-file scheduler.key --print-peer-id\n  damselfly scheduler --port 8002 --p2p-port 8003 --token $TOKEN\n  damselfly scheduler --config /etc/damselfly/scheduler.yaml\n  open http://127.0.0.1:8002/dashboard\n')
    .action(async (opts, cmd: Command) => {
      const c = loadSchedulerConfig(cmd)
      const keyFile = resolve(c.keyFile ?? join(homedir(), '.damselfly', 'scheduler', 'scheduler.key'))
      // a deployment makes the key (a Secret, a mounted file) and the peers' pin before any scheduler runs
      if (opts.printPeerId === true) { process.stdout.write(`${await schedulerPeerId(keyFile)}\n`); return }
      const log = createLogger('scheduler', c.logLevel)
      const svc = createScheduler({
        log,
        http: { host: c.host, port: c.port },
        p2p: { host: c.p2pHost, port: c.p2pPort, announce: c.announce.length > 0 ? c.announce : undefined, libp2pDebug: libp2pDebugWanted() },
        token: c.token,
        allowPeers: c.allowPeer,
        seedToken: c.seedToken,
        allowSeeds: c.allowSeed,
        adminToken: c.adminToken,
        dev: c.dev,
        keyFile,
        heartbeatMs: c.heartbeatSeconds * 1000,
        swarm: { allowImport: c.allowImport, poolWanBudget: parseRate(c.poolWanBudget) }
      })
      await svc.start()
      if (opts.json === true) process.stdout.write(JSON.stringify({ role: 'scheduler', url: svc.httpUrl, pid: process.pid, peerId: svc.peerId, addrs: svc.addrs }) + '\n')
      await untilSignal(async () => { await svc.stop() })
    })
}
