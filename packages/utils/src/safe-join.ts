import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { UnsafePathError } from '@damselfly/types'

/**
 * Joins `rel` (a name taken from a hub listing, a recursive entry, a manifest)
 * under `root` and guarantees the result stays inside `root`. Names from
 * remote listings are attacker-controlled: `../x`, `/etc/passwd`, `C:\x`,
 * `a/../../x` or a NUL byte must never reach the filesystem.
 */
export function safeJoin (root: string, rel: string): string {
  if (typeof rel !== 'string' || rel === '') throw new UnsafePathError('empty path')
  if (rel.includes('\0')) throw new UnsafePathError(`path contains a NUL byte: ${JSON.stringify(rel)}`)
  // backslashes are separators on Windows and in names some hubs normalise; treat them as such everywhere
  const norm = rel.replace(/\\/g, '/')
  if (isAbsolute(norm) || /^[a-zA-Z]:/.test(norm) || norm.startsWith('//')) throw new UnsafePathError(`absolute path not allowed: ${JSON.stringify(rel)}`)
  if (norm.split('/').some((part) => part === '..')) throw new UnsafePathError(`path escapes its root: ${JSON.stringify(rel)}`)
  const base = resolve(root)
  const out = resolve(join(base, norm))
  const back = relative(base, out)
  if (back === '' || back.startsWith('..') || isAbsolute(back)) throw new UnsafePathError(`path escapes its root: ${JSON.stringify(rel)}`)
  if (!out.startsWith(base.endsWith(sep) ? base : base + sep)) throw new UnsafePathError(`path escapes its root: ${JSON.stringify(rel)}`)
  return out
}
