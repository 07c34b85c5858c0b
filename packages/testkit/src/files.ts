import { open } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { createHash, randomFillSync } from 'node:crypto'

/** Writes `size` pseudo-random bytes (incompressible, so no transport can cheat). */
export async function writeRandomFile (path: string, size: number): Promise<void> {
  const fh = await open(path, 'w')
  try {
    const chunk = Buffer.allocUnsafe(Math.min(size, 8 * 1024 * 1024))
    let written = 0
    while (written < size) {
      const n = Math.min(chunk.byteLength, size - written)
      randomFillSync(chunk, 0, n)
      await fh.write(chunk, 0, n, written)
      written += n
    }
  } finally {
    await fh.close()
  }
}

export async function sha256File (path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const c of createReadStream(path, { highWaterMark: 4 << 20 })) h.update(c as Buffer)
  return h.digest('hex')
}
