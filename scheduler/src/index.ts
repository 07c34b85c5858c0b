export { SchedulerService, buildHttpApi, DECODE_LIMITS, schedulerPeerId, type SchedulerInit } from './service.js'
export { buildSchedulerMetrics } from './metrics.js'
export { DASHBOARD_HTML } from './dashboard.js'

import { SchedulerService, type SchedulerInit } from './service.js'

export function createScheduler (init: SchedulerInit): SchedulerService {
  return new SchedulerService(init)
}
