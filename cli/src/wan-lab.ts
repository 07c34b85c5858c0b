// A WAN lab of Linux network namespaces: one "cloud" namespace and one
// namespace per edge node pool, each pool joined to the cloud by a veth pair
// shaped to a bandwidth (tbf on both ends; this kernel has no netem, so the
// links have a rate, not a delay). Pools reach each other only through the
// cloud, which routes between its links. Nothing is added to the host's own
// namespace: veth pairs are created there only to be moved into the lab's
// namespaces at once, and every address exists only inside them.
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** every namespace and temporary veth name of a lab starts with this, then the owning process id */
export const WAN_LAB_PREFIX = 'dfly-'
/** the cloud's service address (on its loopback), reached by every pool through its WAN link */
export const CLOUD_ADDR = '10.251.0.1'
/** the interface, inside each pool namespace, that is the pool's WAN link */
export const POOL_WAN_DEV = 'wan0'

export interface WanLabInit {
  /** edge node pool names (1 to 200), each its own namespace */
  pools: string[]
  /** link rate in tc syntax, e.g. `200mbit`, `50mbit`, `25mbps` (bytes), applied in both directions */
  wan: string
}

export interface WanPool {
  name: string
  /** network namespace the pool's peers run in */
  netns: string
  /** the pool's address: its peers listen here, each on its own port */
  addr: string
  /** the cloud's end of this pool's WAN link (inside the cloud namespace) */
  cloudDev: string
}

/** Bytes per second of a tc rate (`200mbit`, `25mbps`, `1gbit`, `500kbit`, plain number = bit/s as tc reads it). */
export function parseTcRate (rate: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)(bit|bps)?$/i.exec(rate.trim())
  if (m == null) throw new Error(`--wan: cannot read rate '${rate}' (e.g. 200mbit, 50mbit, 25mbps)`)
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't']
  const perSec = Number(m[1]) * scale
  // tc: "bit" is bits, "bps" is bytes; a bare number is bits
  return m[3]?.toLowerCase() === 'bps' ? perSec : perSec / 8
}

/** Why a WAN lab cannot run here (not root, no `ip`/`tc`), or undefined when it can. */
export async function wanLabUnavailable (): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the WAN lab creates network namespaces and needs root (run as root, e.g. sudo)'
  for (const [cmd, args] of [['ip', ['-V']], ['tc', ['-V']]] as const) {
    try { await run(cmd, [...args]) } catch { return `'${cmd}' is missing (apt-get install -y iproute2)` }
  }
  try { await run('ip', ['netns', 'list']) } catch (err: any) { return `'ip netns' does not work here: ${String(err.stderr ?? err.message).trim()}` }
  return undefined
}

/** Namespaces of WAN labs whose owning process is gone (a killed run), or of `pid` when given. */
async function labNamespaces (ownedBy?: number): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list'])
  const names = stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((n) => n?.startsWith(WAN_LAB_PREFIX))
  return names.filter((n) => {
    const pid = Number(/^dfly-(\d+)-/.exec(n)?.[1] ?? NaN)
    if (!Number.isInteger(pid)) return false
    if (ownedBy != null) return pid === ownedBy
    return !alive(pid)
  })
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err: any) { return err.code === 'EPERM' }
}

/** SIGKILLs every process still inside a namespace, then deletes it (its veth ends go with it). */
async function removeNamespace (ns: string): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }))
  for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
    try { process.kill(pid, 'SIGKILL') } catch {}
  }
  await run('ip', ['netns', 'del', ns]).catch(() => {})
}

/** Veth pairs left in the host namespace by a run killed between creating and moving them. */
async function staleHostVeths (): Promise<string[]> {
  const { stdout } = await run('ip', ['-o', 'link', 'show', 'type', 'veth'])
  return stdout.split('\n').map((l) => /^\d+:\s+(dfly\d+[a-z]\d+)[@:]/.exec(l)?.[1]).filter((n): n is string => {
    if (n == null) return false
    return !alive(Number(/^dfly(\d+)/.exec(n)?.[1]))
  })
}

/** Removes what killed WAN labs left behind: their namespaces (and processes in them) and stray veths. */
export async function cleanStaleWanLabs (): Promise<string[]> {
  const removed: string[] = []
  for (const ns of await labNamespaces()) { await removeNamespace(ns); removed.push(ns) }
  for (const dev of await staleHostVeths()) { await run('ip', ['link', 'del', dev]).catch(() => {}); removed.push(dev) }
  return removed
}

/**
 * The namespaces and links of one lab. `create()` cleans stale labs first;
 * `destroy()` (also run synchronously on process exit) removes everything.
 */
export class WanLab {
  readonly cloudNetns: string
  readonly pools: WanPool[]
  readonly rateBytesPerSec: number
  private created = false
  private readonly onExit = (): void => { this.destroySync() }

  constructor (readonly init: WanLabInit) {
    if (init.pools.length < 1 || init.pools.length > 200) throw new Error('the WAN lab needs 1 to 200 pools')
    if (new Set(init.pools).size !== init.pools.length) throw new Error('pool names must differ')
    for (const p of init.pools) if (!/^[a-z0-9][a-z0-9-]{0,30}$/i.test(p)) throw new Error(`pool name '${p}': letters, digits and '-' only, at most 31`)
    this.rateBytesPerSec = parseTcRate(init.wan)
    const tag = `${WAN_LAB_PREFIX}${process.pid}-`
    this.cloudNetns = `${tag}cloud`
    this.pools = init.pools.map((name, i) => ({ name, netns: `${tag}${name}`, addr: `10.251.${i + 1}.2`, cloudDev: `pool${i + 1}` }))
  }

  /** Every namespace of this lab, cloud first. */
  get namespaces (): string[] { return [this.cloudNetns, ...this.pools.map((p) => p.netns)] }

  pool (name: string): WanPool {
    const p = this.pools.find((x) => x.name === name)
    if (p == null) throw new Error(`no pool '${name}' in this lab`)
    return p
  }

  async create (): Promise<void> {
    const why = await wanLabUnavailable()
    if (why != null) throw new Error(`cannot start the WAN lab: ${why}`)
    await cleanStaleWanLabs()
    // a lab of this very process left over (create after destroy) goes too
    for (const ns of await labNamespaces(process.pid)) await removeNamespace(ns)
    this.created = true
    process.once('exit', this.onExit)
    try {
      const cloud = this.cloudNetns
      await ip('netns', 'add', cloud)
      await ip('-n', cloud, 'link', 'set', 'lo', 'up')
      await ip('-n', cloud, 'addr', 'add', `${CLOUD_ADDR}/32`, 'dev', 'lo')
      // routing between the pools happens here, and only here
      await run('ip', ['netns', 'exec', cloud, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
      for (const [i, pool] of this.pools.entries()) {
        await ip('netns', 'add', pool.netns)
        await ip('-n', pool.netns, 'link', 'set', 'lo', 'up')
        // made in the host namespace under throw-away names, moved out at once
        const a = `dfly${process.pid}c${i + 1}`.slice(0, 15)
        const b = `dfly${process.pid}p${i + 1}`.slice(0, 15)
        await ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b)
        await ip('link', 'set', a, 'netns', cloud)
        await ip('link', 'set', b, 'netns', pool.netns)
        await ip('-n', cloud, 'link', 'set', a, 'name', pool.cloudDev)
        await ip('-n', pool.netns, 'link', 'set', b, 'name', POOL_WAN_DEV)
        await ip('-n', cloud, 'addr', 'add', `10.251.${i + 1}.1/30`, 'dev', pool.cloudDev)
        await ip('-n', pool.netns, 'addr', 'add', `${pool.addr}/30`, 'dev', POOL_WAN_DEV)
        await ip('-n', cloud, 'link', 'set', pool.cloudDev, 'up')
        await ip('-n', pool.netns, 'link', 'set', POOL_WAN_DEV, 'up')
        await ip('-n', pool.netns, 'route', 'add', 'default', 'via', `10.251.${i + 1}.1`)
        await this.shape(cloud, pool.cloudDev)
        await this.shape(pool.netns, POOL_WAN_DEV)
      }
    } catch (err) {
      await this.destroy()
      throw err
    }
  }

  /** tbf at the link rate on one end: the sender side of each direction is where the queue builds */
  private async shape (ns: string, dev: string): Promise<void> {
    // the bucket holds at least a few GSO super-packets (64 KiB each), else tbf drops them whole
    const burst = Math.max(256 * 1024, Math.round(this.rateBytesPerSec / 100))
    await run('tc', ['-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', this.init.wan, 'burst', String(burst), 'latency', '100ms'])
  }

  /** Bytes the pool's WAN link received (into the pool) and sent (out of it), from the link's own counters. */
  async wanBytes (pool: string): Promise<{ rx: number, tx: number }> {
    const p = this.pool(pool)
    const { stdout } = await run('ip', ['-n', p.netns, '-j', '-s', 'link', 'show', 'dev', POOL_WAN_DEV])
    const [link] = JSON.parse(stdout) as Array<{ stats64: { rx: { bytes: number }, tx: { bytes: number } } }>
    return { rx: link.stats64.rx.bytes, tx: link.stats64.tx.bytes }
  }

  /** Cuts (or restores) a pool's WAN link: its cloud end goes down, so the pool has no route out. */
  async setLink (pool: string, up: boolean): Promise<void> {
    const p = this.pool(pool)
    await ip('-n', this.cloudNetns, 'link', 'set', p.cloudDev, up ? 'up' : 'down')
    await ip('-n', p.netns, 'link', 'set', POOL_WAN_DEV, up ? 'up' : 'down')
    // a link that comes back up lost its default route with it
    if (up) await ip('-n', p.netns, 'route', 'replace', 'default', 'via', p.addr.replace(/\.2$/, '.1'))
  }

  /** The argv prefix that runs a command inside a namespace. */
  exec (netns: string, argv: string[]): string[] { return ['ip', 'netns', 'exec', netns, ...argv] }

  /** GETs a URL from inside a namespace (the host has no route into the lab); the body as text. */
  async fetchText (netns: string, url: string): Promise<string> {
    const script = 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) throw new Error(String(r.status)); process.stdout.write(await r.text()) }).catch((e) => { console.error(e.message); process.exit(1) })'
    const { stdout } = await run('ip', ['netns', 'exec', netns, process.execPath, '-e', script, url], { maxBuffer: 64 * 1024 * 1024 })
    return stdout
  }

  async destroy (): Promise<void> {
    if (!this.created) return
    this.created = false
    process.off('exit', this.onExit)
    for (const ns of this.namespaces) await removeNamespace(ns)
  }

  /** For process exit, where nothing asynchronous runs any more. */
  private destroySync (): void {
    if (!this.created) return
    this.created = false
    for (const ns of this.namespaces) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number)
        for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
      } catch {}
    }
  }
}

async function ip (...args: string[]): Promise<void> {
  try {
    await run('ip', args)
  } catch (err: any) {
    throw new Error(`ip ${args.join(' ')}: ${String(err.stderr ?? err.message).trim()}`)
  }
}
