export { Swarm, crossPoolBytes, type SwarmInit, type PeerRecord, type TaskRecord, type Send } from './swarm.js'
export * from './constants.js'
export { PoolBudget } from './pool-budget.js'
