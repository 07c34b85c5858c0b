export * from './scheduler.js'
export * from './piece.js'

/** Announce / SeedRequest fields for a task id computed from the URL (or digest) alone */
export const NO_TASK_KEY_PARTS = { tag: '', application: '', filteredQueryParams: [] as string[], range: '' }
