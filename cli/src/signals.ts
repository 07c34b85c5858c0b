/** Waits for SIGINT/SIGTERM (or stdin closing when a parent asked for that), then stops. */
export async function untilSignal (stop: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => { resolve() }
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
    if (process.env.DAMSELFLY_EXIT_WITH_STDIN === '1') {
      process.stdin.on('end', done)
      process.stdin.on('close', done)
      process.stdin.resume()
    }
  })
  const t = setTimeout(() => process.exit(0), 5000)
  t.unref()
  await stop().catch(() => {})
  process.exit(0)
}
