import { REGISTRY_ALIASES } from './constants.js'

export interface HostsTomlInit {
  /** registry as images name it: `docker.io`, `ghcr.io`, `127.0.0.1:5000`, or a URL to force the scheme */
  registry: string
  /** the peer proxy, e.g. `http://127.0.0.1:65001` */
  proxy: string
  /** reach the registry itself over plain HTTP (loopback registries always are) */
  plainHttp?: boolean
}

/**
 * containerd's `certs.d/<dir>/hosts.toml` sending pulls of one registry
 * through the peer proxy, the registry itself staying the fallback (`server`)
 * when the proxy is down. `dir` is the name containerd looks the file up by.
 */
export function containerdHostsToml (init: HostsTomlInit): { dir: string, toml: string } {
  let dir: string
  let server: string
  if (init.registry.includes('://')) {
    const u = new URL(init.registry)
    dir = u.host
    server = u.origin
  } else {
    dir = init.registry
    const host = REGISTRY_ALIASES[dir] ?? dir
    const loopback = /^(localhost|127\.[\d.]+|\[::1\])(:\d+)?$/.test(host)
    server = `${init.plainHttp === true || loopback ? 'http' : 'https'}://${host}`
  }
  const proxy = init.proxy.replace(/\/+$/, '')
  const toml = [
    '# written by `damselfly dfinit`: pulls go through the local Damselfly peer, the registry stays the fallback',
    `server = "${server}"`,
    '',
    `[host."${proxy}"]`,
    '  capabilities = ["pull", "resolve"]',
    `  [host."${proxy}".header]`,
    `    X-Dragonfly-Registry = ["${server}"]`,
    ''
  ].join('\n')
  return { dir, toml }
}
