import type { ComponentLogger, Logger } from '@libp2p/interface'

const silent: Logger = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: (): Logger => silent
})

/**
 * libp2p's component logger. Its default builds a `debug` instance for every connection, stream
 * and protocol negotiation, and each one asks whether stderr is a terminal (an ioctl, and
 * ~400 of them per peer per download in a 16-peer swarm) with nothing enabled. Unless DEBUG names
 * something, one silent logger serves every component; with DEBUG set libp2p's own is used.
 */
export function libp2pLogger (): ComponentLogger | undefined {
  if ((process.env.DEBUG ?? '') !== '') return undefined
  return { forComponent: () => silent }
}
