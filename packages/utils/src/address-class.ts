import { BlockList, isIP } from 'node:net'

/**
 * Address ranges that are not the public internet: the node itself, cloud metadata
 * (169.254.169.254), the cluster's private networks. A proxy reachable by other workloads must not
 * lead into them; a daemon looks among its own addresses for the one other hosts reach. Node's
 * BlockList also matches IPv4-mapped IPv6 forms (::ffff:127.0.0.1) against the IPv4 ranges.
 */
const RANGES: Array<[kind: string, subnets: Array<[string, number, 'ipv4' | 'ipv6']>]> = [
  ['loopback', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]],
  ['unspecified', [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]],
  ['link-local', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]],
  ['private', [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['100.64.0.0', 10, 'ipv4'], ['fc00::', 7, 'ipv6']]],
  ['multicast or reserved', [['224.0.0.0', 3, 'ipv4'], ['ff00::', 8, 'ipv6']]]
]

const CLASSES = RANGES.map(([kind, subnets]) => {
  const list = new BlockList()
  for (const [net, prefix, type] of subnets) list.addSubnet(net, prefix, type)
  return { kind, list }
})

export function ipFamily (address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4'
}

/** Which non-public class an address falls in (loopback, unspecified, link-local, private, multicast or reserved), or undefined for a public address. */
export function addressClass (address: string): string | undefined {
  return CLASSES.find((c) => c.list.check(address, ipFamily(address)))?.kind
}
