export { Origin, startOrigin, type OriginInit } from './origin.js'
export { TokenBucket } from './token-bucket.js'
export { writeRandomFile, sha256File } from './files.js'
export { SwarmSim, FakeClock, prng, type SimPeer, type SimPeerInit, type SimInit } from './swarm-sim.js'
