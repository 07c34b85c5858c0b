#!/usr/bin/env node
// Dragonfly's dfget flags, so existing scripts keep working.
import { Command, Option } from 'commander'
import { initBlake3 } from '@damselfly/utils'
import { addBackendOptions } from '@damselfly/daemon'
import { runGet } from './get.js'

await initBlake3()
const cmd = addBackendOptions(new Command('dfget'))
  .description('download a URL through the local Damselfly daemon (Dragonfly dfget compatible flags)')
  .argument('<url>')
  .requiredOption('-O, --output <path>', 'output file')
  .option('--digest <digest>', 'expected digest, sha256:<hex>')
  .option('-H, --header <header...>', 'origin request header "Name: value"')
  .option('--tag <tag>')
  .option('--application <name>')
  .option('--filtered-query-param <name...>')
  .addOption(new Option('--piece-length <bytes>').argParser(Number))
  .addOption(new Option('--timeout <duration>', 'e.g. 30s, 5m, or milliseconds').argParser(parseDuration))
  .option('--disable-back-to-source')
  .option('--no-progress')
  .option('-r, --recursive', 'download a directory tree (hf:// repos)')
  .addOption(new Option('--endpoint <url>', 'daemon API').env('DAMSELFLY_API'))
  .option('--json')
  .exitOverride((err) => { process.exit(err.exitCode === 0 ? 0 : 2) })
  .action(async (url, opts) => {
    process.exitCode = await runGet(url, { ...opts, api: opts.endpoint })
  })
await cmd.parseAsync(process.argv)

function parseDuration (v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim())
  if (m == null) throw new Error(`invalid duration ${v}`)
  const n = Number(m[1])
  switch (m[2]) {
    case 's': return n * 1000
    case 'm': return n * 60_000
    case 'h': return n * 3_600_000
    default: return n
  }
}
