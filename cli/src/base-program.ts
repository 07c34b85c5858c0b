import { Command } from 'commander'

/**
 * Makes a usage error anywhere under `cmd` exit 2 (commander's default is 1,
 * and `addCommand` does not pass `exitOverride` down, so it is set on every
 * command in the tree).
 */
export function exitTwoOnUsageError (cmd: Command): Command {
  cmd.exitOverride((err) => { process.exit(err.exitCode === 0 ? 0 : 2) })
  for (const c of cmd.commands) exitTwoOnUsageError(c)
  return cmd
}

/** The `damselfly` command with the given subcommands. */
export function baseProgram (...subcommands: Command[]): Command {
  const root = new Command('damselfly')
    .description('peer-to-peer content distribution: scheduler, seed peers and peers exchanging BLAKE3-verified pieces')
    .version('0.1.0')
    .showHelpAfterError()
  for (const sub of subcommands) root.addCommand(sub)
  return exitTwoOnUsageError(root)
}
