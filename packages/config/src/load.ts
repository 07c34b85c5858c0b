import { readFileSync } from 'node:fs'
import { ConfigError, parseConfigText, resolveConfig, type ResolvedConfig } from './resolve.js'
import type { Role, RoleDefaults } from './schema.js'

export interface LoadConfigInit {
  /** the role's YAML file; none = env, flags and defaults only */
  path?: string
  env?: Record<string, string | undefined>
  flags?: Record<string, unknown>
  defaults?: RoleDefaults
}

/**
 * Reads the file an app was pointed at and resolves the layers. Apps call this
 * with their own argv/env; libraries only ever see the typed result.
 */
export function loadConfig<T> (role: Role, init: LoadConfigInit): ResolvedConfig<T> {
  let file: unknown
  if (init.path != null && init.path !== '') {
    let text: string
    try { text = readFileSync(init.path, 'utf8') } catch (err: any) { throw new ConfigError(`cannot read config file ${init.path}: ${err.code ?? err.message}`) }
    file = parseConfigText(text, init.path)
  }
  return resolveConfig<T>(role, { file, filePath: init.path, env: init.env, flags: init.flags }, init.defaults)
}
