import { Command } from 'commander'
import { schedulerCommand } from '@damselfly/scheduler'
import { peerCommand } from '@damselfly/peer'
import { seedCommand } from '@damselfly/seed-peer'
import { getCommand } from './get.js'
import { labCommand } from './lab.js'
import { configCommand } from './config-command.js'
import { dfinitCommand } from './dfinit.js'

export function program (): Command {
  return new Command('damselfly')
    .description('peer-to-peer content distribution: scheduler, seed peers and peers exchanging BLAKE3-verified pieces')
    .version('0.1.0')
    .addCommand(schedulerCommand())
    .addCommand(seedCommand())
    .addCommand(peerCommand())
    .addCommand(getCommand())
    .addCommand(labCommand())
    .addCommand(configCommand())
    .addCommand(dfinitCommand())
    .showHelpAfterError()
    .exitOverride((err) => { process.exit(err.exitCode === 0 ? 0 : 2) })
}
