import { copyFile, link, rename, rm, constants, mkdir } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { basename, dirname, join, resolve } from 'node:path'
import { DigestMismatchError } from '@damselfly/types'
import { normaliseDigest } from '@damselfly/utils'

export interface ExportOptions {
  /** expected content digest, checked before the file appears */
  digest?: string
  /**
   * Hard-link the cached content when output and cache share a filesystem
   * (no copy: on a VM fresh page-cache pages cost ~4 s/GB). The output then
   * shares its bytes with the copy this peer serves: rewriting the output in
   * place makes the peer serve pieces its children reject (each piece is
   * BLAKE3-checked), so callers that edit outputs in place turn it off.
   * @default true
   */
  hardLink?: boolean
}

/**
 * Puts a completed task's content under `output`: hard-linked, else copied
 * (reflinked where the filesystem can) to a hidden temporary name beside it,
 * checked against the expected digest, then renamed, so the final name only
 * ever holds complete, verified content.
 */
export async function exportTo (dataPath: string, output: string, opts: ExportOptions = {}): Promise<string> {
  const target = resolve(output)
  await mkdir(dirname(target), { recursive: true })
  const tmp = join(dirname(target), `.${basename(target)}.damselfly-${randomBytes(4).toString('hex')}.tmp`)
  try {
    const linked = opts.hardLink !== false && await link(dataPath, tmp).then(() => true, () => false)
    if (!linked) await copyFile(dataPath, tmp, constants.COPYFILE_FICLONE)
    if (opts.digest != null && opts.digest !== '') await verifyFileDigest(tmp, opts.digest)
    await rename(tmp, target)
  } finally {
    // also when the rename was a no-op: `target` already was a link to the same file
    await rm(tmp, { force: true })
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
