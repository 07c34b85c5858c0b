import type { Command } from 'commander'
import { baseProgram } from './base-program.js'
import { schedulerCommand } from '@damselfly/scheduler'
import { peerCommand } from '@damselfly/peer'
import { seedCommand } from '@damselfly/seed-peer'
import { getCommand } from './get.js'
import { labCommand } from './lab.js'
import { configCommand } from './config-command.js'
import { dfinitCommand } from './dfinit.js'
import { cacheCommand } from './cache-command.js'

export function program (): Command {
  return baseProgram(
    schedulerCommand(),
    seedCommand(),
    peerCommand(),
    getCommand(),
    labCommand(),
    configCommand(),
    dfinitCommand(),
    cacheCommand()
  )
}
