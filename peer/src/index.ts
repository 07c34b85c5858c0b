export { Daemon, type DaemonInit, type DaemonEndpoints, type DaemonGcInit } from './daemon.js'
export { buildLocalApi, type DownloadBody } from './local-api.js'
export { buildMetrics, type DaemonMetrics, type ProxyResult, type MetricsInit } from './metrics.js'
