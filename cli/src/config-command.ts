import { Command, Option } from 'commander'
import { loadConfig, maskSecrets, toYaml, ConfigError, ROLES, type Role } from '@damselfly/config'
import { defaultDataDir } from './daemon-command.js'

/** `damselfly config print`: the configuration a daemon of that role would start with, secrets masked. */
export function configCommand (): Command {
  const print = new Command('print')
    .description('print the effective configuration of a role (defaults < file < env < flags), secrets masked')
    .addOption(new Option('--role <role>', 'scheduler, seed or peer').choices(ROLES as string[]).makeOptionMandatory())
    .addOption(new Option('-c, --config <file>', 'YAML config file').env('DAMSELFLY_CONFIG'))
    .option('--sources', 'also show where each setting came from')
    .option('--json', 'JSON instead of YAML')
    .addHelpText('after', `
Examples:
  damselfly config print --role peer
  damselfly config print --role scheduler --config /etc/damselfly/scheduler.yaml --json
  DAMSELFLY_POOL=edge-a damselfly config print --role peer --sources

Exit codes: 0 valid, 2 invalid configuration or bad usage.
`)
    .action((opts: { role: Role, config?: string, sources?: boolean, json?: boolean }) => {
      try {
        const { config, sources } = loadConfig(opts.role, { path: opts.config, env: process.env, defaults: { dataDir: defaultDataDir(opts.role) } })
        const out = opts.sources === true ? { config: maskSecrets(config), sources } : maskSecrets(config)
        process.stdout.write(opts.json === true ? JSON.stringify(out) + '\n' : toYaml(out))
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        process.stderr.write(`damselfly config: ${err.message}\n`)
        process.exitCode = 2
      }
    })
  return new Command('config')
    .description('inspect configuration')
    .addCommand(print)
    .addHelpText('after', '\nExamples:\n  damselfly config print --role peer --config peer.yaml\n')
}
