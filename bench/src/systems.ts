// The systems the swarm benchmark compares, one implementation each:
// every peer straight from the origin, BitTorrent (aria2c + opentracker),
// and Damselfly (scheduler + seed peer + peers from `startLab`).
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startOrigin, metric, type Origin } from '@damselfly/testkit'
import { startLab } from '@damselfly/cli'
import { CLI } from '@damselfly/cli'
import { peakRssOf, totalCpuSecondsOf, quietDisks, settled, reapedChildrenCpuSeconds } from './proc.js'

const run = promisify(execFile)

export interface SwarmConfig {
  peers: number
  fileBytes: number
  originRateBytesPerSec: number
  /** the file every peer needs (already written) */
  file: string
  /** its sha256 hex */
  sha256: string
  /** scratch space for this system */
  dir: string
  log: (line: string) => void
  /** Damselfly's data channel mode (tls, tcp, off) */
  dataChannel?: string
  /** Damselfly: each peer's and seed's `--upload-rate` in bytes/s (`--upload-limit`) */
  uploadRateBytesPerSec?: number
  /** where the processes run (the edge bench's network namespaces); default: all here on 127.0.0.1 */
  placement?: Placement
}

/** Where a system's processes run: the cloud side (tracker, seeder) and each peer. */
export interface Placement {
  /** address the cloud side listens on and the peers reach it at */
  host: string
  /** argv prefix that runs a cloud-side process (e.g. `ip netns exec <cloud>`) */
  cloud: string[]
  /** argv prefix that runs peer i's process */
  peer: (i: number) => string[]
  /** resolves once something listens on host:port, seen from where the peers are */
  waitForPort: (port: number) => Promise<void>
}

const HERE: Placement = { host: '127.0.0.1', cloud: [], peer: () => [], waitForPort: async (port) => { await waitForPort(port) } }

/** What a system reports; the benchmark adds verification and CPU. */
export interface SystemRun {
  /** seconds from the common start until each peer had the whole file */
  peerSeconds: number[]
  /** bytes the capped origin sent */
  originBytes: number
  /** the largest VmHWM of any one peer process */
  peakRssBytes: number
  /** where each peer's copy ended up */
  outputs: string[]
  /** CPU seconds by kind of process, where the system has several */
  cpuByRole?: Record<string, number>
  /**
   * CPU the system's daemons spent before the first download started (loading
   * code, libp2p keys, listening). Daemons run as long-lived services (a
   * DaemonSet), so this is reported on its own and left out of cpuSeconds.
   */
  startupCpuSeconds?: number
  /**
   * the children's CPU (reaped ones and the daemons still running) when the last peer finished: its
   * daemons' stopping afterwards is reported apart (shutdownCpuSeconds), as their start-up is
   */
  cpuAtDoneSeconds?: number
  dataChannel?: string
  /** worst p99 event-loop delay of any peer process over the run, where the system reports it */
  loopP99Ms?: number
  /** Damselfly: bytes/s each daemon uploaded over the run (its damselfly_upload_bytes_total / seconds to the last peer) */
  uploadRates?: { peers: number[], seeds: number[] }
}

export interface SwarmSystem {
  name: 'direct' | 'bittorrent' | 'damselfly'
  /** why this system cannot run here, or undefined when it can */
  unavailable?: () => Promise<string | undefined>
  run: (cfg: SwarmConfig) => Promise<SystemRun>
}

/** Tracks the peak RSS of processes while they live (VmHWM disappears with them). */
class RssWatch {
  private readonly peaks = new Map<number, number>()
  private readonly timer: NodeJS.Timeout

  constructor (private readonly pids: () => number[]) {
    this.timer = setInterval(() => { this.sample().catch(() => {}) }, 100)
  }

  async sample (): Promise<void> {
    for (const pid of this.pids()) {
      const rss = await peakRssOf(pid)
      if (rss > (this.peaks.get(pid) ?? 0)) this.peaks.set(pid, rss)
    }
  }

  async stop (): Promise<number> {
    clearInterval(this.timer)
    await this.sample()
    return Math.max(0, ...this.peaks.values())
  }
}

async function exited (child: ChildProcess): Promise<number> {
  if (child.exitCode != null) return child.exitCode
  return await new Promise((resolve) => child.once('exit', (code) => resolve(code ?? -1)))
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

async function withOrigin<T> (cfg: SwarmConfig, f: (origin: Origin, url: string) => Promise<T>): Promise<T> {
  const origin = await startOrigin({ files: { '/artifact.bin': cfg.file }, rateBytesPerSec: cfg.originRateBytesPerSec })
  try {
    return await f(origin, `${origin.url}/artifact.bin`)
  } finally {
    await origin.stop()
  }
}

/** Runs `damselfly get` as its own process; resolves with seconds since `t0` when it exits. */
export function getProcess (args: string[], t0: number, pids: number[], apiToken?: string): Promise<number> {
  const env = apiToken != null ? { ...process.env, DAMSELFLY_API_TOKEN: apiToken } : process.env
  const child = spawn(process.execPath, [CLI, 'get', ...args, '--json', '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'], env })
  pids.push(child.pid!)
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => { out += String(d) })
  child.stderr!.on('data', (d) => { err += String(d) })
  return exited(child).then((code) => {
    if (code !== 0) throw new Error(`damselfly get exited with ${code}: ${out.trim().split('\n').pop() ?? ''} ${err.slice(-500)}`)
    return (performance.now() - t0) / 1000
  })
}

export const direct: SwarmSystem = {
  name: 'direct',
  async run (cfg) {
    return await withOrigin(cfg, async (origin, url) => {
      const pids: number[] = []
      const watch = new RssWatch(() => pids)
      const outputs = Array.from({ length: cfg.peers }, (_, i) => join(cfg.dir, `direct-${i}.bin`))
      await quietDisks()
      const t0 = performance.now()
      const peerSeconds = await Promise.all(outputs.map(async (o) => await getProcess([url, '-O', o, '--standalone'], t0, pids)))
      return { peerSeconds, originBytes: origin.bytesServed, peakRssBytes: await watch.stop(), outputs }
    })
  }
}

export const damselfly: SwarmSystem = {
  name: 'damselfly',
  async run (cfg) {
    return await withOrigin(cfg, async (origin, url) => {
      // one site: the seed peer sits in the peers' node pool, so every peer may fetch from it
      // (across pools the scheduler lets only a few fetchers per pool reach outside)
      const dataChannel = cfg.dataChannel ?? 'tcp'
      // outputs under an export root: the daemons hard-link them from their caches, as in production
      const limit = cfg.uploadRateBytesPerSec != null ? ['--upload-rate', String(cfg.uploadRateBytesPerSec)] : []
      const lab = await startLab({ peers: cfg.peers, dataDir: join(cfg.dir, 'lab'), exportRoots: [cfg.dir], logLevel: 'warn', seedArgs: ['--pool', 'default', '--data-channel', dataChannel, ...limit], peerArgs: ['--data-channel', dataChannel, ...limit] })
      const eps = lab.endpoints!
      const daemonPids = eps.peers.map((p) => p.pid)
      const watch = new RssWatch(() => daemonPids)
      try {
        const outputs = eps.peers.map((_, i) => join(cfg.dir, `damselfly-${i}.bin`))
        const getPids: number[] = []
        const labPids = [eps.scheduler.pid, ...eps.seeds.map((s) => s.pid), ...daemonPids]
        // daemons in production have been up for hours when a download comes: let their start-up
        // (lazy compilation after the ready line) finish before the clock starts
        const startupCpuSeconds = await settled(labPids)
        await quietDisks()
        const t0 = performance.now()
        const peerSeconds = await Promise.all(eps.peers.map(async (p, i) => await getProcess([url, '-O', outputs[i], '--api', p.api], t0, getPids, p.apiToken)))
        const cpuAtDoneSeconds = await reapedChildrenCpuSeconds() + await totalCpuSecondsOf(labPids)
        const sum = async (pids: number[]): Promise<number> => Math.round(await totalCpuSecondsOf(pids) * 100) / 100
        // by role, start-up included (it is subtracted from the total only)
        const cpuByRole = { scheduler: await sum([eps.scheduler.pid]), seed: await sum(eps.seeds.map((s) => s.pid)), peers: await sum(daemonPids) }
        // prom-client's default metrics: event-loop delay percentiles since the last scrape (this is the first)
        const scraped = await Promise.all(eps.peers.map(async (p) => await fetch(p.metrics).then(async (r) => await r.text()).catch(() => '')))
        // a daemon that could not be scraped counts 0, it does not fail the run
        const read = (text: string, name: string, ...labels: string[]): number => { try { return metric(text, name, ...labels) } catch { return 0 } }
        const lags = scraped.map((text) => read(text, 'nodejs_eventloop_lag_p99_seconds') * 1000)
        const loopP99Ms = Math.round(Math.max(...lags) * 10) / 10
        cfg.log(`damselfly peers' event-loop p99 (ms): ${lags.map((l) => l.toFixed(1)).join(' ')}`)
        // main-thread pause time in garbage collection, summed over the peers (prom-client's default metrics)
        const gcSeconds = (kind: string): number => Math.round(scraped.reduce((a, text) => a + read(text, 'nodejs_gc_duration_seconds_sum', `kind="${kind}"`), 0) * 100) / 100
        const since = (t?: number): string => t == null ? '-' : ((t - t0) / 1000).toFixed(2)
        cfg.log(`damselfly origin sent from ${since(origin.firstByteAt)} s to ${since(origin.lastByteAt)} s; peers done at ${peerSeconds.map((s) => s.toFixed(2)).join(' ')} s`)
        const uploads = await fetch(`${eps.scheduler.url}/api/v1/peers`).then(async (r) => await r.json() as Array<{ seed: boolean, uploadedBytes: number }>).catch(() => [])
        const gib = (n: number): string => (n / 2 ** 30).toFixed(2)
        const uploaded = (seed: boolean): number => uploads.filter((p) => p.seed === seed).reduce((a, p) => a + p.uploadedBytes, 0)
        const seedScraped = await Promise.all(eps.seeds.map(async (s) => await fetch(s.metrics).then(async (r) => await r.text()).catch(() => '')))
        const lookups = (result: string): number => [...scraped, ...seedScraped].reduce((a, text) => a + read(text, 'damselfly_piece_cache_lookups_total', `result="${result}"`), 0)
        cfg.log(`damselfly uploads: seed ${gib(uploaded(true))} GiB, peers ${gib(uploaded(false))} GiB (${uploads.filter((p) => !p.seed).map((p) => gib(p.uploadedBytes)).join(' ')}); from memory ${lookups('hit')} of ${lookups('hit') + lookups('miss')}`)
        cfg.log(`damselfly peers' GC pauses: major ${gcSeconds('major')} s, minor ${gcSeconds('minor')} s, incremental ${gcSeconds('incremental')} s`)
        // each daemon's own count of piece bytes it served, averaged over the run (start to the last peer done)
        const runSeconds = Math.max(...peerSeconds)
        const rateOf = (text: string): number => Math.round(read(text, 'damselfly_upload_bytes_total') / runSeconds)
        const uploadRates = { peers: scraped.map(rateOf), seeds: seedScraped.map(rateOf) }
        const mibs = (n: number): string => (n / 2 ** 20).toFixed(2)
        cfg.log(`damselfly upload rates (MiB/s over ${runSeconds.toFixed(2)} s${cfg.uploadRateBytesPerSec != null ? `, limit ${mibs(cfg.uploadRateBytesPerSec)}` : ''}): seed ${uploadRates.seeds.map(mibs).join(' ')}, peers ${uploadRates.peers.map(mibs).join(' ')}`)
        return { peerSeconds, originBytes: origin.bytesServed, peakRssBytes: await watch.stop(), outputs, cpuByRole, startupCpuSeconds, cpuAtDoneSeconds, dataChannel, loopP99Ms, uploadRates }
      } finally {
        await watch.stop()
        await lab.stop()
      }
    })
  }
}

async function which (cmd: string): Promise<boolean> {
  return await run('sh', ['-c', `command -v ${cmd}`]).then(() => true, () => false)
}

/**
 * aria2c leechers and one aria2c seeder, capped like the origin, found
 * through opentracker. opentracker here only tracks whitelisted info hashes,
 * refuses to run as root and chroots, so it runs as `nobody` from a
 * world-readable directory holding the whitelist.
 */
export const bittorrent: SwarmSystem = {
  name: 'bittorrent',
  async unavailable () {
    const missing = []
    for (const cmd of ['aria2c', 'opentracker', 'mktorrent', 'setpriv']) if (!await which(cmd)) missing.push(cmd)
    return missing.length > 0 ? `missing ${missing.join(', ')} (apt-get install aria2 opentracker mktorrent)` : undefined
  },
  async run (cfg) {
    const dir = join(cfg.dir, 'bt')
    const seedDir = join(dir, 'seed')
    await mkdir(seedDir, { recursive: true })
    // opentracker runs as nobody and must reach the whitelist: a directory of its own, world-readable
    const trackerDir = await mkdtemp(join(tmpdir(), 'damselfly-tracker-'))
    await chmod(trackerDir, 0o755)
    const at = cfg.placement ?? HERE
    const trackerPort = await freePort()
    const torrent = join(dir, 'artifact.torrent')
    const seeded = join(seedDir, 'artifact.bin')
    await run('ln', ['-s', cfg.file, seeded])
    const pieceLog2 = cfg.fileBytes >= 512 * 1024 * 1024 ? 22 : 20
    await run('mktorrent', ['-a', `http://${at.host}:${trackerPort}/announce`, '-l', String(pieceLog2), '-o', torrent, seeded])
    const { stdout } = await run('aria2c', ['-S', torrent])
    const infoHash = /Info Hash: ([0-9a-f]{40})/.exec(stdout)?.[1]
    if (infoHash == null) throw new Error('cannot read the info hash of the torrent')
    const whitelist = join(trackerDir, 'whitelist')
    await writeFile(whitelist, infoHash + '\n', { mode: 0o644 })
    // a marker file per leecher, written by aria2c the moment its download completes (it keeps seeding after)
    const hook = join(dir, 'done.sh')
    await writeFile(hook, '#!/bin/sh\ndate +%s%N > "$3.done"\n', { mode: 0o755 })

    const children: ChildProcess[] = []
    const logs: string[] = []
    const start = (cmd: string, args: string[], prefix: string[] = at.cloud): ChildProcess => {
      const argv = [...prefix, cmd, ...args]
      const c = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
      c.stderr!.on('data', (d) => { logs.push(String(d)) })
      children.push(c)
      return c
    }
    const common = [
      '--enable-dht=false', '--enable-dht6=false', '--enable-peer-exchange=false', '--bt-enable-lpd=false',
      '--console-log-level=warn', '--summary-interval=0', '--file-allocation=none', '--check-certificate=false',
      '--bt-max-peers=0', '--disable-ipv6=true', '--bt-tracker-interval=1', '--bt-stop-timeout=0', '--check-integrity=false'
    ]
    const leechers: ChildProcess[] = []
    const outputs: string[] = []
    const watch = new RssWatch(() => leechers.map((c) => c.pid!))
    try {
      start('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'opentracker',
        '-i', at.host, '-p', String(trackerPort), '-P', String(trackerPort), '-d', trackerDir, '-w', whitelist])
      await at.waitForPort(trackerPort).catch((err) => { throw new Error(`${err.message as string}: ${logs.join('').slice(-500)}`) })
      const seeder = start('aria2c', [...common, `--dir=${seedDir}`, '--seed-ratio=0.0', '--bt-seed-unverified=true',
        `--max-overall-upload-limit=${cfg.originRateBytesPerSec > 0 ? cfg.originRateBytesPerSec : 0}`, `--listen-port=${await freePort()}`, torrent])
      // wait until the seeder has announced, so every leecher starts with the same view
      await new Promise((resolve) => setTimeout(resolve, 1500))
      await quietDisks()
      const t0ns = BigInt(Date.now()) * 1_000_000n
      for (let i = 0; i < cfg.peers; i++) {
        const d = join(dir, `leech-${i}`)
        await mkdir(d, { recursive: true })
        outputs.push(join(d, 'artifact.bin'))
        leechers.push(start('aria2c', [...common, `--dir=${d}`, '--seed-ratio=0.0', '--bt-hash-check-seed=false',
          `--on-bt-download-complete=${hook}`, `--listen-port=${await freePort()}`, torrent], at.peer(i)))
      }
      const peerSeconds = await Promise.all(outputs.map(async (o) => {
        while (true) {
          const marker = await readFile(`${o}.done`, 'utf8').catch(() => undefined)
          if (marker != null && marker.trim() !== '') return Number(BigInt(marker.trim()) - t0ns) / 1e9
          const died = leechers.find((c) => c.exitCode != null)
          if (died != null) throw new Error(`aria2c exited early: ${logs.join('').slice(-500)}`)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }))
      // the seeder stands in for the origin: every byte it sent left the capped source
      const originBytes = await uploadedBy(seeder.pid!)
      return { peerSeconds, originBytes, peakRssBytes: await watch.stop(), outputs }
    } finally {
      await watch.stop()
      await Promise.all(children.map(async (c) => {
        if (c.exitCode != null || c.signalCode != null) return
        const done = exited(c)
        c.kill('SIGTERM')
        const t = setTimeout(() => c.kill('SIGKILL'), 3000)
        await done
        clearTimeout(t)
      }))
      await rm(trackerDir, { recursive: true, force: true })
    }
  }
}

/** Bytes a process wrote through write-like syscalls (sockets included); aria2c's seeder writes little else. */
async function uploadedBy (pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '')
  return Number(/wchar: (\d+)/.exec(io)?.[1] ?? 0)
}

async function waitForPort (port: number): Promise<void> {
  const { connect } = await import('node:net')
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`)
}

export const systems: SwarmSystem[] = [direct, bittorrent, damselfly]
