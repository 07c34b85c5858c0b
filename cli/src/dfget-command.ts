// Dragonfly's dfget flags, so existing scripts keep working.
import { Command, Option, InvalidArgumentError } from 'commander'
import { addBackendOptions } from './backend-options.js'
import { runGet, rateArg } from './get.js'
import { exitTwoOnUsageError } from './base-program.js'

export function dfgetCommand (): Command {
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
    .addOption(new Option('--ratelimit <rate>', 'bytes/s for this download, e.g. 20MiB or 20M (0 = unlimited; Dragonfly dfget\'s flag)').argParser(rateArg))
    .option('--no-progress')
    .option('-r, --recursive', 'download a directory tree (hf:// repos)')
    .addOption(new Option('--endpoint <url>', 'daemon API').env('DAMSELFLY_API'))
    .addOption(new Option('--data-dir <dir>', 'daemon data dir whose api-token is presented (DAMSELFLY_API_TOKEN wins)').env('DAMSELFLY_DATA_DIR'))
    .option('--json', 'print one JSON line with the result on stdout')
    .addHelpText('after', `
Examples:
  dfget https://example.com/model.bin -O /tmp/model.bin
  dfget http://registry/v2/library/alpine/blobs/sha256:<hex> -O layer.tgz --digest sha256:<hex> --no-progress
  dfget https://origin/file?sig=x --filtered-query-param sig --timeout 5m -O file --endpoint http://127.0.0.1:65002

Exit codes: 0 downloaded and verified, 1 download failed, 2 bad usage.
`)
    .action(async (url, opts) => {
      process.exitCode = await runGet(url, { ...opts, api: opts.endpoint, limitRate: opts.ratelimit })
    })
  return exitTwoOnUsageError(cmd)
}

function parseDuration (v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim())
  if (m == null) throw new InvalidArgumentError(`expected a duration like 30s, 5m or milliseconds, got ${JSON.stringify(v)}`)
  const n = Number(m[1])
  switch (m[2]) {
    case 's': return n * 1000
    case 'm': return n * 60_000
    case 'h': return n * 3_600_000
    default: return n
  }
}
