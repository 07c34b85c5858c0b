import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { request } from 'undici'
import { sha256File } from '@damselfly/testkit'

/** the `damselfly` CLI entry, run as a separate process like a user would */
export const CLI = join(dirname(fileURLToPath(import.meta.resolve('@damselfly/cli'))), 'damselfly.js')

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

/** Runs `damselfly get` against one peer's API (with its token) and returns its JSON result line. */
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

/** True when every file has the given sha256. */
export async function allMatch (files: string[], sha256: string): Promise<boolean> {
  const sums = await Promise.all(files.map(async (f) => await sha256File(f).catch(() => '')))
  return sums.every((s) => s === sha256)
}

export async function fetchJson<T> (url: string): Promise<T> {
  const res = await request(url)
  return await res.body.json() as T
}

export const here = dirname(fileURLToPath(import.meta.url))
