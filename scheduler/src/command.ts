import { Command, Option } from 'commander'
import { createLogger, untilSignal } from '@damselfly/utils'
import { createScheduler } from './index.js'

/** `damselfly scheduler`: runs the scheduler until SIGINT/SIGTERM. */
export function schedulerCommand (): Command {
  return new Command('scheduler')
    .description('run the scheduler: tasks, peers, piece availability and parent choice')
    .addOption(new Option('--host <host>', 'address for the HTTP API and libp2p').default('127.0.0.1').env('DAMSELFLY_SCHEDULER_HOST'))
    .addOption(new Option('--port <port>', 'HTTP API port').default(8002).argParser(Number).env('DAMSELFLY_SCHEDULER_PORT'))
    .addOption(new Option('--p2p-port <port>', 'libp2p port peers keep their session on').default(8003).argParser(Number))
    .addOption(new Option('--token <token>', 'cluster token peers must present').env('DAMSELFLY_TOKEN'))
    .option('--allow-peer <id...>', 'only these libp2p peer ids may register')
    .addOption(new Option('--seed-token <token>', 'token a peer must present to act as a seed peer (publish manifests)').env('DAMSELFLY_SEED_TOKEN'))
    .option('--allow-seed <id...>', 'libp2p peer ids allowed to act as seed peers without the seed token')
    .option('--json', 'print one JSON line with the endpoints once ready')
    .addHelpText('after', '\nExamples:\n  damselfly scheduler\n  damselfly scheduler --port 8002 --p2p-port 8003 --token $TOKEN\n')
    .action(async (opts) => {
      const log = createLogger('scheduler')
      const svc = createScheduler({
        log,
        http: { host: opts.host, port: opts.port },
        p2p: { host: opts.host, port: opts.p2pPort },
        token: opts.token,
        allowPeers: opts.allowPeer,
        seedToken: opts.seedToken,
        allowSeeds: opts.allowSeed
      })
      await svc.start()
      if (opts.json === true) process.stdout.write(JSON.stringify({ role: 'scheduler', url: svc.httpUrl, pid: process.pid, peerId: svc.peerId, addrs: svc.addrs }) + '\n')
      await untilSignal(async () => { await svc.stop() })
    })
}

