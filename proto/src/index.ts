export * from './scheduler.js'
export * from './piece.js'
export * from './constants.js'
