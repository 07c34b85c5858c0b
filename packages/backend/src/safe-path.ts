import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { UnsafePathError } from '@damselfly/types'

/**
 * Where a listed file goes under `dir`. Listings come from the origin, so a
 * hostile or broken one must not write outside the directory asked for.
 */
export function safeJoin (dir: string, path: string): string {
  const root = resolve(dir)
  if (path === '' || path.includes('\0') || isAbsolute(path) || /^[a-zA-Z]:/.test(path) || path.split(/[/\\]/).some((s) => s === '..')) {
    throw new UnsafePathError(`refusing to write ${JSON.stringify(path)}: it would land outside ${root}`)
  }
  const target = resolve(join(root, path))
  const rel = relative(root, target)
  if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) {
    throw new UnsafePathError(`refusing to write ${JSON.stringify(path)}: it would land outside ${root}`)
  }
  return target
}
