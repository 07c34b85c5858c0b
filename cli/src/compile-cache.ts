import { lstatSync, mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * Turns on node's module compile cache (V8 code cache for the bundle's chunks) in a directory
 * only this user can write. Without it every start parses and compiles ~6 MB of JavaScript again:
 * `damselfly --version` 0.25 -> 0.17 CPU s. Node keys the cache by its version and V8's flag hash
 * (so the roles' different V8 tiers keep separate entries) and checks a checksum of each entry
 * before use, but the bytecode in it is trusted: a directory someone else can write would let
 * them run code as us, so one that is not ours alone is not used. Call before the chunks load.
 * `DAMSELFLY_COMPILE_CACHE` names another directory, or `off`.
 */
export function useCompileCache (): void {
  const setting = process.env.DAMSELFLY_COMPILE_CACHE
  if (setting === 'off' || setting === '0') return
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache')
  const dir = setting != null && setting !== '' ? setting : join(base, 'damselfly', 'v8')
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const st = lstatSync(dir)
    const mine = process.getuid == null || st.uid === process.getuid()
    if (!st.isDirectory() || !mine || (st.mode & 0o022) !== 0) return
    const { enableCompileCache } = process.getBuiltinModule('node:module') as typeof import('node:module')
    enableCompileCache(dir)
  } catch {
    // a read-only home, no home: start as before, only slower
  }
}
