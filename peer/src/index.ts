export { Daemon, type DaemonInit, type DaemonEndpoints, type DaemonGcInit } from './daemon.js'
export { buildLocalApi, type DownloadBody, type LocalApiInit } from './local-api.js'
export { API_TOKEN_FILE, ensureApiToken, readApiToken, defaultPeerDataDir } from './api-token.js'
export { buildMetrics, type DaemonMetrics, type ProxyResult, type MetricsInit } from './metrics.js'
