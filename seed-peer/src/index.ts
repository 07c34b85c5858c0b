import { daemonCommand, Daemon } from '@damselfly/daemon'
import { untilSignal } from '@damselfly/utils'
import type { Command } from 'commander'

export { Daemon }

/** `damselfly seed`: a seed peer, which fetches new tasks from the origin when the scheduler asks. */
export function seedCommand (): Command {
  return daemonCommand({
    name: 'seed',
    description: 'run a seed peer: pulls content from the origin once, cuts and hashes pieces, serves them',
    seed: true,
    apiPort: 65012,
    metricsPort: 65013,
    p2pPort: 65010,
    dataPort: 65014,
    pool: 'cloud',
    examples: '  damselfly seed --scheduler http://scheduler:8002\n  damselfly seed --scheduler http://127.0.0.1:8002 --data-dir /var/lib/damselfly-seed --pool cloud\n'
  }, async (daemon, opts) => {
    const endpoints = await daemon.start()
    if (opts.json === true) process.stdout.write(JSON.stringify({ role: 'seed', ...endpoints }) + '\n')
    await untilSignal(async () => { await daemon.stop() })
  })
}
