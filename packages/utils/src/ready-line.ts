import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'

/**
 * The JSON ready line a child process prints on `stdout`. Node's own output
 * (`--trace-gc`, say) may come before it or even share its line; every other
 * line, before or after, goes to `onOther`.
 */
export async function readyLine (stdout: Readable, onOther?: (line: string) => void): Promise<string> {
  const lines = createInterface({ input: stdout })
  let ready = false
  return await new Promise<string>((resolve) => {
    lines.on('line', (line) => {
      const at = ready ? -1 : line.indexOf('{"')
      if (at < 0) { onOther?.(line); return }
      ready = true
      resolve(line.slice(at))
    })
  })
}
