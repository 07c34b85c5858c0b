import { copyFile, link, rename, rm, constants, mkdir, realpath } from 'node:fs/promises'
import { createReadStream, createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { createHash, randomBytes } from 'node:crypto'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { DigestMismatchError, ExportForbiddenError } from '@damselfly/types'
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
  /**
   * directories the output must lie under (after following symlinks); checked before
   * anything is created. Undefined: no restriction (the caller writes as its own user).
   */
  roots?: string[]
}

/**
 * Puts a completed task's content under `output`: hard-linked, else copied
 * (reflinked where the filesystem can) to a hidden temporary name beside it,
 * checked against the expected digest, then renamed, so the final name only
 * ever holds complete, verified content.
 */
export async function exportTo (dataPath: string, output: string, opts: ExportOptions = {}): Promise<string> {
  return await writeVerified(output, opts, async (tmp) => {
    const linked = opts.hardLink !== false && await link(dataPath, tmp).then(() => true, () => false)
    if (!linked) await copyFile(dataPath, tmp, constants.COPYFILE_FICLONE)
  })
}

/** The same as exportTo for bytes that arrive as a stream (a client writing what its daemon sends). */
export async function exportStream (source: NodeJS.ReadableStream, output: string, opts: ExportOptions = {}): Promise<string> {
  return await writeVerified(output, opts, async (tmp) => {
    await pipeline(source, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }))
  })
}

async function writeVerified (output: string, opts: ExportOptions, fill: (tmp: string) => Promise<void>): Promise<string> {
  const target = opts.roots != null ? await exportTarget(output, opts.roots) : resolve(output)
  await mkdir(dirname(target), { recursive: true })
  const tmp = join(dirname(target), `.${basename(target)}.damselfly-${randomBytes(4).toString('hex')}.tmp`)
  try {
    await fill(tmp)
    if (opts.digest != null && opts.digest !== '') await verifyFileDigest(tmp, opts.digest)
    await rename(tmp, target)
  } finally {
    // also when the rename was a no-op: `target` already was a link to the same file
    await rm(tmp, { force: true })
  }
  return target
}

/**
 * Where `output` really lands, if that is strictly inside one of `roots`; symlinks in the
 * existing part of the path are followed first, so a link inside a root cannot lead out of
 * it. Throws ExportForbiddenError having created nothing.
 */
export async function exportTarget (output: string, roots: string[]): Promise<string> {
  if (roots.length === 0) throw new ExportForbiddenError('this daemon writes no files (it has no export roots): the client writes the output itself')
  if (typeof output !== 'string' || !isAbsolute(output) || output.includes('\0')) throw new ExportForbiddenError(`output must be an absolute path, got ${JSON.stringify(output)}`)
  const target = resolve(output)
  // the deepest directory that exists, with its symlinks resolved, plus the names still to create
  let existing = dirname(target)
  const rest = [basename(target)]
  let real: string | undefined
  while (real == null) {
    try {
      real = await realpath(existing)
    } catch (err: any) {
      if (err?.code !== 'ENOENT' && err?.code !== 'ENOTDIR') throw new ExportForbiddenError(`cannot check ${existing}: ${err?.code ?? err?.message}`)
      if (dirname(existing) === existing) throw new ExportForbiddenError(`no part of ${target} exists`)
      rest.unshift(basename(existing))
      existing = dirname(existing)
    }
  }
  const really = join(real, ...rest)
  for (const root of roots) {
    const r = await realpath(root).catch(() => undefined)
    if (r == null) continue
    const rel = relative(r, really)
    if (rel !== '' && !rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel)) return really
  }
  throw new ExportForbiddenError(`${target} is outside this daemon's export roots (${roots.join(', ')}): the client writes it itself`)
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
