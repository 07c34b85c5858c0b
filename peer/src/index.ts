import { daemonCommand, Daemon } from '@damselfly/daemon'
import { untilSignal } from '@damselfly/utils'
import type { Command } from 'commander'

export { Daemon }

/** `damselfly daemon`: the peer that runs on every host. */
export function peerCommand (): Command {
  return daemonCommand({
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
  }, async (daemon, opts) => {
    const endpoints = await daemon.start()
    if (opts.json === true) process.stdout.write(JSON.stringify({ role: 'peer', ...endpoints }) + '\n')
    await untilSignal(async () => { await daemon.stop() })
  })
}
