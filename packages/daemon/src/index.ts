export { Daemon, type DaemonInit, type DaemonEndpoints } from './daemon.js'
export { buildLocalApi, type DownloadBody } from './local-api.js'
export { buildMetrics } from './metrics.js'
export { daemonCommand, type DaemonCommandDefaults } from './command.js'
