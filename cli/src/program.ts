import type { Command } from 'commander'
import { baseProgram } from './base-program.js'
import { schedulerCommand } from './scheduler-command.js'
import { roleCommand } from './daemon-command.js'
import { getCommand } from './get.js'
import { labCommand } from './lab.js'
import { configCommand } from './config-command.js'
import { dfinitCommand } from './dfinit.js'
import { cacheCommand } from './cache-command.js'

export function program (): Command {
  return baseProgram(
    schedulerCommand(),
    roleCommand('seed'),
    roleCommand('peer'),
    getCommand(),
    labCommand(),
    configCommand(),
    dfinitCommand(),
    cacheCommand()
  )
}
