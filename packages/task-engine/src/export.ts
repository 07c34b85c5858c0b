import { copyFile, rename, rm, constants, mkdir } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { basename, dirname, join, resolve } from 'node:path'
import { DigestMismatchError } from '@damselfly/types'
import { normaliseDigest } from '@damselfly/utils'

/**
 * Puts a completed task's content under `output`: copied (reflinked where
 * the filesystem can) to a hidden temporary name beside it, checked against
 * the expected digest, then renamed, so the final name only ever holds
 * complete, verified content.
 */
export async function exportTo (dataPath: string, output: string, digest?: string): Promise<string> {
  const target = resolve(output)
  await mkdir(dirname(target), { recursive: true })
  const tmp = join(dirname(target), `.${basename(target)}.damselfly-${randomBytes(4).toString('hex')}.tmp`)
  try {
    await copyFile(dataPath, tmp, constants.COPYFILE_FICLONE)
    if (digest != null && digest !== '') await verifyFileDigest(tmp, digest)
    await rename(tmp, target)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  return target
}

/** Checks a whole file against `sha256:<hex>` / `sha512:<hex>` / `blake3:<hex>`. */
export async function verifyFileDigest (path: string, digest: string): Promise<void> {
  const [algo, hex] = normaliseDigest(digest).split(':')
  let actual: string
  if (algo === 'blake3') {
    const { createBLAKE3 } = await import('hash-wasm')
    const h = await createBLAKE3()
    for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) h.update(chunk as Buffer)
    actual = h.digest('hex')
  } else {
    const h = createHash(algo)
    for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) h.update(chunk as Buffer)
    actual = h.digest('hex')
  }
  if (actual !== hex) throw new DigestMismatchError(`content digest is ${algo}:${actual}, expected ${algo}:${hex}`)
}
