import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** the bench entry (test/dist/helpers → bench/dist), run as `npm run bench -- …` runs it, minus the build */
const BENCH = fileURLToPath(new URL('../../../bench/dist/index.js', import.meta.url))

/** Runs one bench scenario as its own process and returns the JSON line it printed last. */
export async function runBench<T = any> (args: string[], timeoutMs: number): Promise<T> {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [BENCH, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, out, errOut) => {
      if (err != null && out.trim() === '') reject(new Error(`${err.message}\n${errOut.slice(-2000)}`))
      else resolve(out)
    })
  })
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as T
}
