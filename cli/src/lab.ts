import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { readyLine } from '@damselfly/utils'
import { untilSignal } from './signals.js'
import { WanLab, CLOUD_ADDR, wanLabUnavailable, parseTcRate } from './wan-lab.js'
import { readApiToken } from '@damselfly/peer/api-token'

/** node flags every role runs with, as the `damselfly` bin's shebang sets them */
export const NODE_FLAGS = ['--heap-growing-percent=300', '--max-semi-space-size=8']

export interface LabOptions {
  peers: number
  /** schedulers sharing the tasks by consistent hashing @default 1 */
  schedulers?: number
  seeds?: number
  /** node pools the peers are spread over, round-robin @default ['default'] */
  pools?: string[]
  /** per-peer pool list; overrides `pools` when given */
  peerPools?: string[]
  dataDir?: string
  keep?: boolean
  token?: string
  /** token that authorises the lab's seed peers @default a random token per lab */
  seedToken?: string
  /** extra flags for the scheduler process */
  schedulerArgs?: string[]
  /** extra flags for every peer / seed process */
  peerArgs?: string[]
  seedArgs?: string[]
  logLevel?: string
  /**
   * run the lab in network namespaces: a cloud namespace (scheduler, seeds)
   * and one per pool, each pool's link to the cloud shaped to this rate (tc
   * syntax, e.g. `200mbit`); needs root and iproute2 (see wan-lab.ts)
   */
  wan?: string
  /**
   * destinations the peers' proxies may reach although loopback or private (`--proxy-allow`):
   * a lab's origins listen on 127.0.0.1, which a proxy refuses by default
   */
  proxyAllow?: string[]
  /** directories the peers' local APIs may write outputs under (`--export-root`); none: clients write them */
  exportRoots?: string[]
  /** token for the scheduler's preheat route @default a random token per lab */
  adminToken?: string
}

export interface LabProcess {
  pid: number
  role: string
  [key: string]: unknown
}

export interface LabEndpoints {
  /** `adminToken`: what preheat wants as `Authorization: Bearer …` */
  scheduler: { url: string, pid: number, peerId: string, dashboard: string, metrics: string, adminToken: string }
  /** all schedulers (the first is also `scheduler`) */
  schedulers: Array<{ url: string, pid: number, peerId: string }>
  /** `apiToken`: what each local API wants as `Authorization: Bearer …` (DAMSELFLY_API_TOKEN for `damselfly get`) */
  seeds: Array<{ id: string, pid: number, pool: string, api: string, apiToken: string, metrics: string, dataDir: string, netns?: string }>
  peers: Array<{ id: string, pid: number, pool: string, api: string, apiToken: string, proxy: string | null, metrics: string, dataDir: string, caCert: string | null, netns?: string }>
  dataDir: string
  logs: string
  /**
   * WAN labs: the namespaces; every URL above is reachable only from inside
   * them (e.g. `ip netns exec <netns> damselfly get ... --api <peer api>`)
   */
  wan?: { rate: string, rateBytesPerSec: number, cloudNetns: string, cloudAddr: string, pools: Array<{ name: string, netns: string, addr: string }> }
}

import { CLI } from './run-cli.js'

/**
 * A whole cluster on loopback: scheduler, seed peers and peers, each its own
 * process on free ports, logs under the lab's data dir.
 */
export class Lab {
  private readonly children: ChildProcess[] = []
  endpoints?: LabEndpoints
  private dir = ''
  private stopped = false
  private schedulerArgs: string[] = []
  private adminToken = ''
  /** how each role was started, by pid, so it can be started again */
  private readonly argsByPid = new Map<number, { name: string, args: string[], netns?: string }>()
  /** the namespaces and shaped links of a WAN lab */
  wan?: WanLab

  constructor (private readonly opts: LabOptions) {}

  async start (): Promise<LabEndpoints> {
    this.dir = this.opts.dataDir ?? await mkdtemp(join(tmpdir(), 'damselfly-lab-'))
    const logs = join(this.dir, 'logs')
    await mkdir(logs, { recursive: true })
    try {
      if (this.opts.wan != null) {
        this.wan = new WanLab({ pools: this.opts.pools ?? ['default'], wan: this.opts.wan })
        await this.wan.create()
      }
      const wan = this.wan
      const cloudNetns = wan?.cloudNetns
      const common = this.opts.token != null ? ['--token', this.opts.token] : []
      // seeds publish the manifests everyone verifies against, so even a lab does not let any peer claim to be one
      const seedToken = this.opts.seedToken ?? randomBytes(16).toString('hex')
      this.adminToken = this.opts.adminToken ?? randomBytes(16).toString('hex')
      this.schedulerArgs = ['scheduler', '--p2p-port', '0', '--json', '--seed-token', seedToken, '--admin-token', this.adminToken, ...common, ...(wan != null ? ['--host', CLOUD_ADDR, '--p2p-host', CLOUD_ADDR] : []), ...(this.opts.schedulerArgs ?? [])]
      // each scheduler keeps its identity in the lab's dir, so a restarted one is the same peer id
      const scheds = await Promise.all(Array.from({ length: this.opts.schedulers ?? 1 }, async (_, i) =>
        await this.spawn(i === 0 ? 'scheduler' : `scheduler-${i}`, [...this.schedulerArgs, '--key-file', this.keyFile(i), '--port', '0'], cloudNetns)))
      const sched = scheds[0]
      // peers pin the identity each scheduler reported when it started
      const schedulerUrls = scheds.map((x) => `${String(x.url)}/p2p/${String(x.peerId)}`).join(',')
      const seedsN = this.opts.seeds ?? 1
      const pools = this.opts.pools ?? ['default']
      // in a WAN lab libp2p and the data channel listen on the namespace's address; the local API and metrics stay on its loopback
      const p2pHost = (pool: string): string[] => wan == null ? [] : ['--p2p-host', pool === 'cloud' ? CLOUD_ADDR : wan.pool(pool).addr]
      const daemonArgs = (kind: string, i: number, pool: string): string[] => [
        kind, '--scheduler', schedulerUrls, '--data-dir', join(this.dir, `${kind}-${i}`), '--pool', pool,
        '--api-port', '0', '--metrics-port', '0', '--p2p-port', '0', '--data-port', '0', '--json', ...common, ...p2pHost(pool),
        ...(this.opts.exportRoots ?? []).flatMap((r) => ['--export-root', r])
      ]
      // the lab's origins are on loopback: its seeds may fetch from there (a real seed may not)
      const loopback = ['--origin-allow-private', '127.0.0.1', '--origin-allow-private', 'localhost', ...(wan != null ? ['--origin-allow-private', CLOUD_ADDR] : [])]
      const seeds = await Promise.all(Array.from({ length: seedsN }, async (_, i) =>
        await this.spawn(`seed-${i}`, [...daemonArgs('seed', i, 'cloud'), '--seed-token', seedToken, ...loopback, ...(this.opts.seedArgs ?? [])], cloudNetns)))
      // a few at a time: a dozen Node processes booting at once on a small machine time each other out
      const peers: LabProcess[] = []
      for (let i = 0; i < this.opts.peers; i += 4) {
        peers.push(...await Promise.all(Array.from({ length: Math.min(4, this.opts.peers - i) }, async (_, k) => {
          const pool = this.opts.peerPools?.[i + k] ?? pools[(i + k) % pools.length]
          const allow = (this.opts.proxyAllow ?? []).flatMap((a) => ['--proxy-allow', a])
          return await this.spawn(`peer-${i + k}`, [...daemonArgs('daemon', i + k, pool), '--proxy-port', '0', ...allow, ...(this.opts.peerArgs ?? [])], wan?.pool(pool).netns)
        })))
      }
      this.endpoints = {
        scheduler: { url: String(sched.url), pid: sched.pid, peerId: String(sched.peerId), dashboard: `${String(sched.url)}/dashboard`, metrics: `${String(sched.url)}/metrics`, adminToken: this.adminToken },
        schedulers: scheds.map((x) => ({ url: String(x.url), pid: x.pid, peerId: String(x.peerId) })),
        seeds: await Promise.all(seeds.map(async (s) => ({ id: String(s.id), pid: s.pid, pool: String(s.pool), api: String(s.api), apiToken: await tokenOf(s), metrics: String(s.metrics), dataDir: String(s.dataDir), ...(s.netns != null ? { netns: s.netns as string } : {}) }))),
        peers: await Promise.all(peers.map(async (p) => ({ id: String(p.id), pid: p.pid, pool: String(p.pool), api: String(p.api), apiToken: await tokenOf(p), proxy: (p.proxy as string | null) ?? null, metrics: String(p.metrics), dataDir: String(p.dataDir), caCert: (p.caCert as string | null) ?? null, ...(p.netns != null ? { netns: p.netns as string } : {}) }))),
        dataDir: this.dir,
        logs,
        ...(wan != null ? { wan: { rate: wan.init.wan, rateBytesPerSec: wan.rateBytesPerSec, cloudNetns: wan.cloudNetns, cloudAddr: CLOUD_ADDR, pools: wan.pools.map(({ name, netns, addr }) => ({ name, netns, addr })) } } : {})
      }
      return this.endpoints
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /**
   * Kills the scheduler (SIGKILL: no goodbye to its peers) and starts a fresh
   * one on the same HTTP port, which is where peers look it up again. Its
   * state is soft: it is rebuilt from the peers' re-registrations.
   * `downMs` keeps it down for a while first.
   */
  async restartScheduler (downMs = 0): Promise<LabEndpoints['scheduler']> {
    const eps = this.endpoints
    if (eps == null) throw new Error('lab not started')
    await this.killScheduler()
    if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs))
    return await this.startScheduler()
  }

  /** Kills the scheduler with SIGKILL and waits until it is gone. */
  async killScheduler (): Promise<void> {
    const eps = this.endpoints
    if (eps == null) throw new Error('lab not started')
    const old = this.process(eps.scheduler.pid)
    if (old != null && old.exitCode == null && old.signalCode == null) {
      const exited = new Promise((resolve) => old.once('exit', resolve))
      old.kill('SIGKILL')
      await exited
    }
  }

  /** Starts the scheduler again on its old HTTP port (after killScheduler). */
  async startScheduler (): Promise<LabEndpoints['scheduler']> {
    const eps = this.endpoints
    if (eps == null) throw new Error('lab not started')
    const port = new URL(eps.scheduler.url).port
    const n = this.children.length
    const sched = await this.spawn(`scheduler-${n}`, [...this.schedulerArgs, '--key-file', this.keyFile(0), '--port', port], this.wan?.cloudNetns)
    const oldPid = eps.scheduler.pid
    eps.scheduler = { url: String(sched.url), pid: sched.pid, peerId: String(sched.peerId), dashboard: `${String(sched.url)}/dashboard`, metrics: `${String(sched.url)}/metrics`, adminToken: this.adminToken }
    const i = eps.schedulers.findIndex((x) => x.pid === oldPid)
    if (i >= 0) eps.schedulers[i] = { url: eps.scheduler.url, pid: eps.scheduler.pid, peerId: eps.scheduler.peerId }
    return eps.scheduler
  }

  /**
   * Kills a peer or seed (SIGKILL, as a crash would) and starts it again with
   * the same data dir and flags; its endpoints entry is updated in place.
   */
  async restartPeer (pid: number, downMs = 0): Promise<LabEndpoints['peers'][number]> {
    const eps = this.endpoints
    const started = this.argsByPid.get(pid)
    const entry = eps?.peers.find((p) => p.pid === pid) ?? eps?.seeds.find((p) => p.pid === pid)
    if (eps == null || started == null || entry == null) throw new Error(`no peer with pid ${pid} in this lab`)
    const child = this.process(pid)
    if (child != null && child.exitCode == null && child.signalCode == null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
    if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs))
    const p = await this.spawn(`${started.name}-${this.children.length}`, started.args, started.netns)
    Object.assign(entry, { pid: p.pid, api: String(p.api), apiToken: await tokenOf(p), metrics: String(p.metrics), id: String(p.id) })
    return entry as LabEndpoints['peers'][number]
  }

  private keyFile (i: number): string { return join(this.dir, `scheduler-${i}.key`) }

  /** Starts one role (inside `netns` when given) and waits for its ready line. */
  private async spawn (name: string, args: string[], netns?: string): Promise<LabProcess> {
    // e.g. DAMSELFLY_LAB_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile every role
    const nodeArgs = [...NODE_FLAGS, ...process.env.DAMSELFLY_LAB_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? []]
    // `ip netns exec` execs node in place: the child's pid is node's, so kill and /proc work as without it
    const argv = [process.execPath, ...nodeArgs, CLI, ...args]
    const [cmd, ...rest] = netns != null ? ['ip', 'netns', 'exec', netns, ...argv] : argv
    const child = spawn(cmd, rest, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, DAMSELFLY_EXIT_WITH_STDIN: '1', DAMSELFLY_LOG_LEVEL: this.opts.logLevel ?? process.env.DAMSELFLY_LOG_LEVEL ?? 'info' }
    })
    this.children.push(child)
    if (child.pid != null) this.argsByPid.set(child.pid, { name, args, netns })
    const log = createWriteStream(join(this.dir, 'logs', `${name}.log`))
    child.stderr!.pipe(log, { end: false })
    // stdout carries the ready line, then anything node itself prints (e.g. --trace-gc)
    child.stdout!.pipe(log, { end: false })
    return await new Promise<LabProcess>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${name} did not become ready within 120 s (see ${join(this.dir, 'logs', name + '.log')})`)) }, 120_000)
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code} before it was ready (see ${join(this.dir, 'logs', name + '.log')})`)) })
      readyLine(child.stdout!).then((line) => {
        clearTimeout(timer)
        resolve({ ...JSON.parse(line), pid: child.pid!, ...(netns != null ? { netns } : {}) })
      }).catch(reject)
    })
  }

  /** The child process of a peer, e.g. to kill it in a fault test. */
  process (pid: number): ChildProcess | undefined { return this.children.find((c) => c.pid === pid) }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await Promise.all(this.children.map(async (c) => {
      if (c.exitCode != null || c.signalCode != null) return
      const exited = new Promise((resolve) => c.once('exit', resolve))
      c.kill('SIGTERM')
      const t = setTimeout(() => c.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    }))
    await this.wan?.destroy()
    if (this.opts.keep !== true && this.opts.dataDir == null) await rm(this.dir, { recursive: true, force: true })
  }
}

/** The local API token a daemon made in its data dir at start (the lab runs as the same user). */
async function tokenOf (p: LabProcess): Promise<string> {
  const t = await readApiToken(String(p.dataDir))
  if (t == null) throw new Error(`${String(p.role)} ${p.pid}: no api-token in ${String(p.dataDir)}`)
  return t
}

export async function startLab (opts: LabOptions): Promise<Lab> {
  const lab = new Lab(opts)
  await lab.start()
  return lab
}

export function labCommand (): Command {
  return new Command('lab')
    .description('start a scheduler, seed peer(s) and N peers on loopback, each its own process, until SIGINT/SIGTERM; with --wan, in network namespaces: a cloud and one namespace per pool behind a rate-limited link')
    .addOption(new Option('--peers <n>', 'number of peers (with --wan: per pool)').default(3).argParser(Number))
    .addOption(new Option('--seeds <n>', 'number of seed peers').default(1).argParser(Number))
    .addOption(new Option('--schedulers <n>', 'number of schedulers (tasks spread by consistent hashing)').default(1).argParser(Number))
    .option('--pools <names>', 'comma-separated node pools the peers are spread over', 'default')
    .option('--wan <rate>', 'WAN lab (root, iproute2): each pool its own network namespace, linked to the cloud namespace at this rate both ways (tc syntax: 200mbit, 50mbit)')
    .option('--data-dir <dir>', 'keep everything here (default: a temporary directory removed on exit)')
    .option('--keep', 'keep the temporary data directory on exit')
    .option('--token <token>', 'cluster token for the whole lab')
    .option('--proxy-allow <host[:port]...>', 'destinations the peers\' proxies may reach although loopback or private (e.g. a local origin 127.0.0.1:8080)')
    .option('--export-root <dir...>', 'directories the peers\' local APIs may write outputs under')
    .option('--json', 'print the endpoints as one JSON line (the default prints it too, with a hint)')
    .addHelpText('after', '\nExamples:\n  damselfly lab --peers 3 --json\n  damselfly lab --peers 8 --pools edge-a,edge-b\n  damselfly lab --pools a,b,c --peers 4 --wan 200mbit   # as root: 3 pools x 4 peers behind 200 Mbit/s links\n')
    .action(async (opts) => {
      const pools = String(opts.pools).split(',').filter(Boolean)
      if (opts.wan != null) {
        const why = await wanLabUnavailable()
        if (why != null) { process.stderr.write(`damselfly lab --wan: ${why}\n`); process.exit(2) }
        try { parseTcRate(String(opts.wan)) } catch (err: any) { process.stderr.write(`damselfly lab: ${err.message as string}\n`); process.exit(2) }
      }
      const peers = opts.wan != null ? opts.peers * pools.length : opts.peers
      const lab = new Lab({ peers, seeds: opts.seeds, schedulers: opts.schedulers, pools, dataDir: opts.dataDir, keep: opts.keep, token: opts.token, wan: opts.wan, proxyAllow: opts.proxyAllow, exportRoots: opts.exportRoot?.map((r: string) => resolve(r)) })
      // Ctrl-C while starting (namespaces half made) still tears everything down
      const early = (): void => { lab.stop().finally(() => process.exit(130)) }
      process.once('SIGINT', early)
      process.once('SIGTERM', early)
      const endpoints = await lab.start()
      process.off('SIGINT', early)
      process.off('SIGTERM', early)
      process.stdout.write(JSON.stringify(endpoints) + '\n')
      if (opts.json !== true) {
        const p = endpoints.peers[0]
        const run = p?.netns != null ? `ip netns exec ${p.netns} ` : ''
        process.stderr.write(`lab running (logs in ${endpoints.logs}); dashboard: ${run !== '' ? `(from ${endpoints.wan?.cloudNetns ?? ''}) ` : ''}${endpoints.scheduler.dashboard}\ntry:\n  ${run}DAMSELFLY_API_TOKEN=${p?.apiToken} damselfly get <url> -O /tmp/out --api ${p?.api}\nCtrl-C stops everything${endpoints.wan != null ? ' and removes the namespaces' : ''}.\n`)
      }
      await untilSignal(async () => { await lab.stop() })
    })
}
