export { ROLES, schemaFor, schedulerConfigSchema, parseBytes, parseRate, type Role, type RoleDefaults, type SchedulerConfig, type DaemonConfig, type GcConfig } from './schema.js'
export { ConfigError, ENV_VARS, resolveConfig, parseConfigText, maskSecrets, toYaml, flagsFrom, type ConfigLayers, type ResolvedConfig } from './resolve.js'
export { loadConfig, type LoadConfigInit } from './load.js'
