export * from './scheduler.js'
export * from './piece.js'
