import { Command, Option } from 'commander'
import { resolve } from 'node:path'
import { taskIdFor } from '@damselfly/utils'
import { DEFAULT_API, EXIT, apiToken, runGet } from './get.js'

/** the task name `--id` gives content that has no origin URL */
export function cacheUrl (id: string): string {
  return `cache://${encodeURIComponent(id)}`
}

interface CacheTarget { url?: string, id?: string, api: string, dataDir?: string }

function urlOf (opts: CacheTarget): string {
  if ((opts.url == null) === (opts.id == null)) throw new UsageError('name the task with exactly one of --url URL or --id ID')
  return opts.url ?? cacheUrl(opts.id!)
}

class UsageError extends Error {}

async function call (opts: CacheTarget, method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> {
  const api = opts.api
  const headers: Record<string, string> = body != null ? { 'content-type': 'application/json' } : {}
  const token = await apiToken(opts)
  if (token != null) headers.authorization = `Bearer ${token}`
  let res: Response
  try {
    res = await fetch(new URL(path, api), { method, headers, body: body != null ? JSON.stringify(body) : undefined })
  } catch (err: any) {
    process.stderr.write(`damselfly cache: no daemon at ${api} (${err?.cause?.code ?? err.message})\n`)
    process.exit(EXIT.UNREACHABLE)
  }
  const text = await res.text()
  return { status: res.status, json: text === '' ? null : JSON.parse(text) }
}

function targetOptions (cmd: Command): Command {
  return cmd
    .addOption(new Option('--url <url>', 'the task is this URL\'s content (peers asking for the URL get the imported bytes)'))
    .addOption(new Option('--id <id>', 'the task is named by this id (content without an origin URL)'))
    .addOption(new Option('--api <url>', 'the local daemon\'s API').default(DEFAULT_API).env('DAMSELFLY_API'))
    .addOption(new Option('--data-dir <dir>', 'the daemon\'s data dir, whose api-token is presented (default ~/.damselfly/peer; DAMSELFLY_API_TOKEN wins)').env('DAMSELFLY_DATA_DIR'))
}

async function run (fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn()
  } catch (err: any) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`damselfly cache: ${err.message}\n`)
    process.exitCode = EXIT.USAGE
  }
}

function print (r: { status: number, json: any }, okStatus = 200): number {
  if (r.status === okStatus) {
    if (r.json != null) process.stdout.write(JSON.stringify(r.json) + '\n')
    return EXIT.OK
  }
  process.stderr.write(`damselfly cache: ${r.json?.error?.message ?? `HTTP ${r.status}`}\n`)
  return EXIT.FAILED
}

/**
 * dfcache-style cache management through the local daemon: import a local
 * file as a task this peer seeds, export a task to a file (P2P), stat, delete.
 */
export function cacheCommand (): Command {
  const cache = new Command('cache').description('import local files as tasks peers download P2P (dfcache), export, stat and delete them')
  cache.addCommand(targetOptions(new Command('import'))
    .description('make FILE a task this peer holds and serves: pieces hashed and announced like a seed\'s (the scheduler needs --allow-import)')
    .argument('<file>', 'the file, read by the daemon on its host')
    .addOption(new Option('--piece-length <bytes>', 'piece length (default: from the size)').argParser(Number))
    .action(async (file: string, opts) => {
      await run(async () => print(await call(opts, 'POST', '/api/v1/cache/import', { path: resolve(file), url: urlOf(opts), pieceLength: opts.pieceLength })))
    }))
  cache.addCommand(targetOptions(new Command('export'))
    .description('write the task\'s content to a file, from this peer\'s cache or P2P (never from an origin)')
    .requiredOption('-O, --output <path>', 'where to write it')
    .action(async (opts) => {
      // a get that may not go to an origin: the same token, export-root fallback and verified rename
      await run(async () => await runGet(urlOf(opts), { output: opts.output, api: opts.api, dataDir: opts.dataDir, disableBackToSource: true, json: true, progress: false }))
    }))
  cache.addCommand(targetOptions(new Command('stat'))
    .description('what this peer holds of the task')
    .action(async (opts) => { await run(async () => print(await call(opts, 'GET', `/api/v1/cache/${taskIdFor({ url: urlOf(opts) })}`))) }))
  cache.addCommand(targetOptions(new Command('delete'))
    .description('remove the task from this peer (others keep their copies)')
    .action(async (opts) => { await run(async () => print(await call(opts, 'DELETE', `/api/v1/cache/${taskIdFor({ url: urlOf(opts) })}`), 204)) }))
  cache.addHelpText('after', '\nExamples:\n  damselfly cache import ./model.safetensors --url https://models.example/llama/model.safetensors\n  damselfly cache import ./weights.bin --id llama-3-8b/weights.bin\n  damselfly cache export --id llama-3-8b/weights.bin -O /models/weights.bin\n  damselfly cache stat --id llama-3-8b/weights.bin\n  damselfly cache delete --id llama-3-8b/weights.bin\n')
  return cache
}
