/**
 * Polls `check` until it returns a value other than undefined/false (errors count as "not yet"),
 * or throws after `timeoutMs` naming `what` and the last error. For tests and benches that wait on
 * a state they can only observe from outside (another process's API or metrics), never on time.
 */
export async function waitFor<T> (what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastErr: unknown
  while (Date.now() < deadline) {
    try {
      const v = await check()
      if (v !== undefined && v !== false) return v
    } catch (err) { lastErr = err }
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr != null ? ` (last error: ${(lastErr as Error).message})` : ''}`)
}
