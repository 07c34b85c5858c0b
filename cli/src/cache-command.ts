import { Command, Option } from 'commander'
import { resolve } from 'node:path'
import { taskIdFor } from '@damselfly/utils'
import { DEFAULT_API, EXIT } from './get.js'

/** the task name `--id` gives content that has no origin URL */
export function cacheUrl (id: string): string {
  return `cache://${encodeURIComponent(id)}`
}

interface CacheTarget { url?: string, id?: string, api: string }

function urlOf (opts: CacheTarget): string {
  if ((opts.url == null) === (opts.id == null)) throw new UsageError('name the task with exactly one of --url URL or --id ID')
  return opts.url ?? cacheUrl(opts.id!)
}

class UsageError extends Error {}

async function call (api: string, method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> {
  let res: Response
  try {
    res = await fetch(new URL(path, api), { method, headers: body != null ? { 'content-type': 'application/json' } : {}, body: body != null ? JSON.stringify(body) : undefined })
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
      await run(async () => print(await call(opts.api, 'POST', '/api/v1/cache/import', { path: resolve(file), url: urlOf(opts), pieceLength: opts.pieceLength })))
    }))
  cache.addCommand(targetOptions(new Command('export'))
    .description('write the task\'s content to a file, from this peer\'s cache or P2P (never from an origin)')
    .requiredOption('-O, --output <path>', 'where to write it')
    .action(async (opts) => {
      await run(async () => {
        const r = await fetch(new URL('/api/v1/download', opts.api), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ url: urlOf(opts), output: resolve(opts.output), disableBackToSource: true })
        }).catch((err: any) => { process.stderr.write(`damselfly cache: no daemon at ${opts.api} (${err?.cause?.code ?? err.message})\n`); process.exit(EXIT.UNREACHABLE) })
        const lines = (await r.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l))
        const last = lines[lines.length - 1]
        if (last?.type === 'done') { process.stdout.write(JSON.stringify({ taskId: last.taskId, output: last.output, stats: last.stats }) + '\n'); return EXIT.OK }
        process.stderr.write(`damselfly cache: ${last?.error?.message ?? `HTTP ${r.status}`}\n`)
        return EXIT.FAILED
      })
    }))
  cache.addCommand(targetOptions(new Command('stat'))
    .description('what this peer holds of the task')
    .action(async (opts) => { await run(async () => print(await call(opts.api, 'GET', `/api/v1/cache/${taskIdFor({ url: urlOf(opts) })}`))) }))
  cache.addCommand(targetOptions(new Command('delete'))
    .description('remove the task from this peer (others keep their copies)')
    .action(async (opts) => { await run(async () => print(await call(opts.api, 'DELETE', `/api/v1/cache/${taskIdFor({ url: urlOf(opts) })}`), 204)) }))
  cache.addHelpText('after', '\nExamples:\n  damselfly cache import ./model.safetensors --url https://models.example/llama/model.safetensors\n  damselfly cache import ./weights.bin --id llama-3-8b/weights.bin\n  damselfly cache export --id llama-3-8b/weights.bin -O /models/weights.bin\n  damselfly cache stat --id llama-3-8b/weights.bin\n  damselfly cache delete --id llama-3-8b/weights.bin\n')
  return cache
}
