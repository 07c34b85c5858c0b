import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import { networkInterfaces } from 'node:os'
import { DestinationForbiddenError } from '@damselfly/types'
import { addressClass, ipFamily } from '@damselfly/utils'

interface AllowEntry {
  /** a host name (lower case; `*.` prefix for a suffix) or undefined for an address entry */
  name?: string
  /** address or CIDR entry */
  addresses?: BlockList
  port?: number
}

/** `host`, `host:port`, `[v6]`, `[v6]:port`, `1.2.3.4/24`, `fd00::/8`, `*.corp.example[:port]` */
export function parseAllowEntry (entry: string): AllowEntry {
  const s = entry.trim().toLowerCase()
  let host = s
  let port: number | undefined
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s)
  const hostPort = /^([^:/]+(?:\/\d+)?):(\d+)$/.exec(s)
  if (bracket != null) { host = bracket[1]; port = bracket[2] != null ? Number(bracket[2]) : undefined } else if (hostPort != null) { host = hostPort[1]; port = Number(hostPort[2]) }
  if (port != null && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new Error(`proxy allow entry ${JSON.stringify(entry)}: bad port`)
  const cidr = /^(.+)\/(\d+)$/.exec(host)
  const ip = cidr?.[1] ?? host
  if (isIP(ip) !== 0) {
    const list = new BlockList()
    if (cidr != null) list.addSubnet(ip, Number(cidr[2]), ipFamily(ip)); else list.addAddress(ip, ipFamily(ip))
    return { addresses: list, port }
  }
  if (cidr != null || host === '' || /[^a-z0-9.*_-]/.test(host)) throw new Error(`proxy allow entry ${JSON.stringify(entry)}: expected host[:port], [v6][:port], a CIDR or *.suffix`)
  return { name: host, port }
}

export interface DestinationPolicyInit {
  /** destinations reachable although forbidden by class (see parseAllowEntry) */
  allow?: string[]
  /** this daemon's own listening ports: refused on local addresses unless an entry names that exact port */
  ownPorts?: number[]
}

/**
 * Where the proxy may connect. Names are resolved and each address checked; connections then
 * go to a checked address (the `lookup` hook), so a name cannot be re-pointed between the check
 * and the connection (DNS rebinding).
 */
export class DestinationPolicy {
  private readonly allow: AllowEntry[]
  private readonly ownPorts: Set<number>
  private readonly local = new BlockList()

  constructor (init: DestinationPolicyInit = {}) {
    this.allow = (init.allow ?? []).map(parseAllowEntry)
    this.ownPorts = new Set(init.ownPorts ?? [])
    for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) this.local.addAddress(a.address.replace(/%.*$/, ''), a.family === 'IPv6' ? 'ipv6' : 'ipv4')
  }

  /** Ports bound after the policy was made (listeners on port 0). */
  addOwnPorts (ports: number[]): void { for (const p of ports) this.ownPorts.add(p) }

  /** Why `host:port` reached at `address` is refused, or undefined when it is allowed (no port: any port). */
  refusal (host: string, address: string, port?: number): string | undefined {
    const name = host.toLowerCase().replace(/^\[|\]$/g, '')
    const matches = (e: AllowEntry): boolean => (e.port == null || port == null || e.port === port) &&
      (e.name != null ? (e.name.startsWith('*.') ? name.endsWith(e.name.slice(1)) : name === e.name) : e.addresses!.check(address, ipFamily(address)))
    const exact = this.allow.some((e) => e.port != null && matches(e))
    const kind = addressClass(address)
    const local = kind === 'loopback' || kind === 'unspecified' || this.local.check(address, ipFamily(address))
    if (local && port != null && this.ownPorts.has(port) && !exact) return `${address}:${port} is this daemon's own listener`
    if (kind == null || this.allow.some(matches)) return undefined
    return `${address} is a ${kind} address`
  }

  /** The address to connect to for `host:port`; throws DestinationForbiddenError before any connection. */
  async check (host: string, port: number): Promise<string> {
    const bare = host.replace(/^\[|\]$/g, '')
    const addresses = isIP(bare) !== 0 ? [{ address: bare, family: isIP(bare) }] : await resolveAll(bare)
    let first: string | undefined
    for (const a of addresses) {
      const why = this.refusal(bare, a.address, port)
      if (why == null) return a.address
      first ??= why
    }
    throw forbidden(host, port, first ?? 'no address')
  }

  /** For net.connect / undici's connector: resolves and hands out only allowed addresses. */
  readonly lookup = ((hostname: string, options: any, cb: (...args: any[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, list: LookupAddress[]) => {
      if (err != null) { cb(err); return }
      // the port is not known here: check() has already judged host and port before any connection
      const ok = list.filter((a) => this.refusal(hostname, a.address) == null)
      if (ok.length === 0) { cb(forbidden(hostname, undefined, `${list[0]?.address ?? 'no address'} is not allowed`)); return }
      if (options?.all === true) cb(null, ok); else cb(null, ok[0].address, ok[0].family)
    })
  }) as LookupFunction
}

async function resolveAll (host: string): Promise<LookupAddress[]> {
  return await new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (err, list) => { if (err != null) reject(Object.assign(err, { status: 502 })); else resolve(list) })
  })
}

function forbidden (host: string, port: number | undefined, why: string): DestinationForbiddenError {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  const target = port == null ? h : `${h}:${port}`
  return new DestinationForbiddenError(`proxy refuses to connect to ${target}: ${why} (allow it with --proxy-allow ${target})`)
}
