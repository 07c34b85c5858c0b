export { Origin, startOrigin, type OriginInit } from './origin.js'
export { TokenBucket } from './token-bucket.js'
export { writeRandomFile, sha256File } from './files.js'
