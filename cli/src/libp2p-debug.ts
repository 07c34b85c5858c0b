/** libp2p's own `debug` loggers are kept when DEBUG names anything (e.g. DEBUG=libp2p:*) */
export function libp2pDebugWanted (): boolean {
  return (process.env.DEBUG ?? '') !== ''
}
