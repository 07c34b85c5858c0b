import { execFile } from 'node:child_process'
import { CLI } from '@damselfly/cli'

export interface CliRun {
  code: number
  stdout: string
  stderr: string
  /** the last stdout line, parsed (the `--json` result) */
  result: any
}

/** Runs `damselfly <args>` as a separate process, like a user would. */
export async function damselfly (args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 120_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      let result: any
      try { result = JSON.parse(stdout.trim().split('\n').pop() ?? '') } catch {}
      resolve({ code: err == null ? 0 : Number((err as any).code ?? 1), stdout, stderr, result })
    })
  })
}

/** A loopback address where nothing listens, so `get` goes standalone quickly. */
export const NO_DAEMON = 'http://127.0.0.1:9'
