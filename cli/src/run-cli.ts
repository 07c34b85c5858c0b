import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * the `damselfly` binary, for running the CLI as its own process the way a user does (lab, bench, tests):
 * the bundle `npm run build` writes (cli/bundle.mjs), not tsc's modules, so every daemon starts as in production
 */
export const CLI = fileURLToPath(new URL('../bin/damselfly.js', import.meta.url))
/** the `dfget` binary beside it */
export const DFGET = fileURLToPath(new URL('../bin/dfget.js', import.meta.url))

/** What `damselfly get --json` prints. */
export interface GetResult {
  ok: boolean
  seconds: number
  bytesFromOrigin: number
  bytesFromSeed: number
  bytesFromPeers: number
  output: string
  error?: { message: string }
}

/** A peer's local API and the token it wants (a lab peer), or just an API URL where none listens. */
export type ApiEndpoint = string | { api: string, apiToken?: string }

/** Runs `damselfly get` against one peer's API (with its token) as a separate process and returns its JSON result line. */
export async function getVia (peer: ApiEndpoint, url: string, output: string, extra: string[] = []): Promise<GetResult> {
  const { api, apiToken } = typeof peer === 'string' ? { api: peer, apiToken: undefined } : peer
  const env = apiToken != null ? { ...process.env, DAMSELFLY_API_TOKEN: apiToken } : process.env
  return await new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'get', url, '-O', output, '--api', api, '--json', ...extra], { timeout: 600_000, env }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? ''
      try { resolve(JSON.parse(line)) } catch { reject(err ?? new Error(`damselfly get printed no result: ${stderr}`)) }
    })
  })
}
