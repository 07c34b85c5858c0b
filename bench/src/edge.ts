// `npm run bench -- edge [--pools 3] [--peers-per-pool 4] [--size BYTES] [--wan RATE] [--pool-budget RATE] [--only a,b] [--json] [--quick]`:
// K edge node pools of M peers, each pool its own network namespace behind a
// WAN link shaped to RATE (both ways) to a cloud namespace holding the origin,
// the scheduler, the seed peer and BitTorrent's tracker and seeder (see
// packages/cli/src/wan-lab.ts). Every edge peer needs one file; the same run
// measures every peer straight from the origin, BitTorrent and Damselfly, then
// two Damselfly fault runs: `autonomy` (one pool's link is cut once a peer
// there holds the whole file; the rest of the pool must finish without the
// cloud) and `leaderFailover` (the peer fetching across the WAN for its pool
// is SIGKILLed halfway; the pool must still take about one copy over its link).
// Needs root and iproute2; WAN bytes come from the links' own counters.
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { writeRandomFile, sha256File, allMatch, metric } from '@damselfly/testkit'
import { startLab, WanLab, wanLabUnavailable, parseTcRate, CLOUD_ADDR, CLI, type Lab, type LabEndpoints } from '@damselfly/cli'
import { parseRate } from '@damselfly/utils'
import { bittorrent, type SwarmConfig } from './systems.js'
import { totalCpuSecondsOf } from './proc.js'
import { swarmChart } from './chart.js'
import { round, median } from './stats.js'

const MiB = 1024 * 1024

export interface EdgeOptions {
  pools: string[]
  peersPerPool: number
  fileBytes: number
  wan: string
  only?: string[]
  /** Damselfly's data channels: `tls` (the default everywhere) or `tcp` (plain inside a pool; across pools TLS all the same) */
  dataChannel?: 'tls' | 'tcp'
  /** also run Damselfly with the scheduler's per-pool WAN budget at this rate (`poolBudget`) */
  poolBudget?: string
  log?: (line: string) => void
}

interface SystemResult {
  lastSeconds: number
  p50Seconds: number
  originBytes: number
  /** bytes into each pool over its WAN link (the link's rx counter, headers included) */
  wanBytesPerPool: Record<string, number>
  cpuSeconds: number
  peakRssBytes: number
  allVerified: boolean
  crossPoolEncrypted?: boolean
  /** scheduler bytes read + written (its /proc io) per edge peer, per GiB delivered */
  schedulerBytesPerPeerPerGiB?: number
  error?: string
  skipped?: string
}

export interface EdgeSummary {
  scenario: 'edge'
  pools: number
  peersPerPool: number
  fileBytes: number
  wan: string
  wanRateBytesPerSec: number
  floorSeconds: number
  date: string
  results: Record<string, SystemResult>
  autonomy?: { pool: string, cutAfterSeconds: number, missingPiecesAtCut?: Record<string, number>, finishedWithoutCloud: boolean, lastSeconds: number, allVerified: boolean, originBytesWhileCut: number, wanBytesPerPool: Record<string, number>, rejoined: boolean, error?: string }
  leaderFailover?: { pool: string, killedAfterSeconds: number, wanBytesPerPool: Record<string, number>, lastSeconds: number, allVerified: boolean, error?: string }
  /**
   * Damselfly with `--pool-wan-budget`: each pool's WAN rate from its link's counters, as the mean over
   * the run and the highest mean over any 5 s (the budget's own window), against the budget
   */
  poolBudget?: { budgetBytesPerSec: number, lastSeconds: number, wanBytesPerPool: Record<string, number>, meanWanRatePerPool: Record<string, number>, max5sWanRatePerPool: Record<string, number>, allVerified: boolean, error?: string }
}

async function exited (child: ChildProcess): Promise<number> {
  if (child.exitCode != null) return child.exitCode
  return await new Promise((resolve) => child.once('exit', (code) => resolve(code ?? -1)))
}

const SERVE_DIR = join(dirname(fileURLToPath(import.meta.resolve('@damselfly/testkit'))), 'serve-dir.js')

/** The origin: testkit's file server, run inside the cloud namespace on the cloud's address. */
async function startHub (wan: WanLab, dir: string): Promise<{ url: string, stop: () => Promise<number> }> {
  const child = spawn('ip', ['netns', 'exec', wan.cloudNetns, process.execPath, SERVE_DIR, dir, '0', CLOUD_ADDR], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => { out += String(d) })
  const url = await new Promise<string>((resolve, reject) => {
    const t = setInterval(() => {
      const line = out.split('\n').find((l) => l.includes('"url"'))
      if (line != null) { clearInterval(t); resolve(JSON.parse(line).url) }
      if (child.exitCode != null) { clearInterval(t); reject(new Error('origin exited')) }
    }, 50)
  })
  return {
    url,
    stop: async () => {
      if (child.exitCode == null) { child.kill('SIGTERM'); await exited(child) }
      const last = out.trim().split('\n').map((l) => { try { return JSON.parse(l) } catch { return {} } }).find((j) => j.bytesServed != null)
      return Number(last?.bytesServed ?? 0)
    }
  }
}

/** `damselfly get` inside a namespace; resolves with seconds since t0, or undefined when it failed. */
function getIn (netns: string, args: string[], t0: number, log: (s: string) => void, apiToken?: string): Promise<number | undefined> {
  const env = apiToken != null ? { ...process.env, DAMSELFLY_API_TOKEN: apiToken } : process.env
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, CLI, 'get', ...args, '--json', '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'], env })
  let out = ''
  child.stdout!.on('data', (d) => { out += String(d) })
  child.stderr!.on('data', (d) => { out += String(d) })
  return exited(child).then((code) => {
    if (code === 0) return (performance.now() - t0) / 1000
    log(`get in ${netns} failed (${code}): ${out.trim().split('\n').pop() ?? ''}`)
    return undefined
  })
}

/** `damselfly get` of `url` through a lab peer's daemon, inside its namespace */
async function getViaPeer (ctx: Ctx, p: LabEndpoints['peers'][number], url: string, output: string, t0: number): Promise<number | undefined> {
  return await getIn(p.netns!, [url, '-O', output, '--api', p.api], t0, ctx.log, p.apiToken)
}

async function wanRx (wan: WanLab): Promise<Record<string, number>> {
  return Object.fromEntries(await Promise.all(wan.pools.map(async (p) => [p.name, (await wan.wanBytes(p.name)).rx] as const)))
}

function minus (a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]))
}

async function ioBytesOf (pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '')
  return Number(/rchar: (\d+)/.exec(io)?.[1] ?? 0) + Number(/wchar: (\d+)/.exec(io)?.[1] ?? 0)
}

interface Ctx { opts: EdgeOptions, file: string, fileDir: string, sha256: string, dir: string, log: (s: string) => void }

/** which pool each of the K×M edge peers is in (round robin, as startLab spreads them) */
const poolOf = (ctx: Ctx, i: number): string => ctx.opts.pools[i % ctx.opts.pools.length]
const peerCount = (ctx: Ctx): number => ctx.opts.pools.length * ctx.opts.peersPerPool

async function runDirect (ctx: Ctx): Promise<SystemResult> {
  const wan = new WanLab({ pools: ctx.opts.pools, wan: ctx.opts.wan })
  await wan.create()
  try {
    const hub = await startHub(wan, ctx.fileDir)
    const outputs = Array.from({ length: peerCount(ctx) }, (_, i) => join(ctx.dir, `direct-${i}.bin`))
    const rx0 = await wanRx(wan)
    const t0 = performance.now()
    const secs = await Promise.all(outputs.map(async (o, i) => await getIn(wan.pool(poolOf(ctx, i)).netns, [`${hub.url}/artifact.bin`, '-O', o, '--standalone'], t0, ctx.log)))
    const wanBytesPerPool = minus(await wanRx(wan), rx0)
    const originBytes = await hub.stop()
    const ok = secs.filter((s): s is number => s != null)
    return { lastSeconds: round(Math.max(...ok)), p50Seconds: round(median(ok)), originBytes, wanBytesPerPool, cpuSeconds: 0, peakRssBytes: 0, allVerified: ok.length === outputs.length && await allMatch(outputs, ctx.sha256) }
  } finally {
    await wan.destroy()
  }
}

async function runBittorrent (ctx: Ctx): Promise<SystemResult> {
  const why = await bittorrent.unavailable?.()
  if (why != null) return { lastSeconds: 0, p50Seconds: 0, originBytes: 0, wanBytesPerPool: {}, cpuSeconds: 0, peakRssBytes: 0, allVerified: false, skipped: why }
  const wan = new WanLab({ pools: ctx.opts.pools, wan: ctx.opts.wan })
  await wan.create()
  try {
    const rx0 = await wanRx(wan)
    const cfg: SwarmConfig = {
      peers: peerCount(ctx),
      fileBytes: ctx.opts.fileBytes,
      // the seeder is uncapped: the WAN links are the bottleneck
      originRateBytesPerSec: 0,
      file: ctx.file,
      sha256: ctx.sha256,
      dir: join(ctx.dir, 'bt'),
      log: ctx.log,
      placement: {
        host: CLOUD_ADDR,
        cloud: wan.exec(wan.cloudNetns, []),
        peer: (i) => wan.exec(wan.pool(poolOf(ctx, i)).netns, []),
        waitForPort: async (port) => {
          // a TCP connect from inside the cloud namespace, retried there for up to 10 s
          const script = `const net = require('node:net'); const until = Date.now() + 10000; const t = () => { const s = net.connect(${port}, '${CLOUD_ADDR}'); s.once('connect', () => { s.destroy(); process.exit(0) }); s.once('error', () => { if (Date.now() > until) process.exit(1); setTimeout(t, 100) }) }; t()`
          await promisify(execFile)('ip', ['netns', 'exec', wan.cloudNetns, process.execPath, '-e', script]).catch(() => { throw new Error(`nothing listens on ${CLOUD_ADDR}:${port}`) })
        }
      }
    }
    await mkdir(cfg.dir, { recursive: true })
    const r = await bittorrent.run(cfg)
    return {
      lastSeconds: round(Math.max(...r.peerSeconds)),
      p50Seconds: round(median(r.peerSeconds)),
      originBytes: r.originBytes,
      wanBytesPerPool: minus(await wanRx(wan), rx0),
      cpuSeconds: 0,
      peakRssBytes: r.peakRssBytes,
      allVerified: r.outputs.length === cfg.peers && await allMatch(r.outputs, ctx.sha256)
    }
  } finally {
    await wan.destroy()
  }
}

/** A Damselfly WAN lab with the origin in its cloud namespace. */
async function damselflyLab (ctx: Ctx, name: string, schedulerArgs: string[] = []): Promise<{ lab: Lab, eps: LabEndpoints, wan: WanLab, hub: Awaited<ReturnType<typeof startHub>>, url: string }> {
  // outputs under an export root: the daemons hard-link them from their caches, as in production and
  // in the swarm bench (without it every byte also crossed the local API to \`get\` over HTTP: 4x the CPU)
  const lab = await startLab({ peers: peerCount(ctx), pools: ctx.opts.pools, wan: ctx.opts.wan, dataDir: join(ctx.dir, name), exportRoots: [ctx.dir], logLevel: 'info', keep: process.env.DAMSELFLY_KEEP === '1', schedulerArgs, ...(ctx.opts.dataChannel != null ? { peerArgs: ['--data-channel', ctx.opts.dataChannel], seedArgs: ['--data-channel', ctx.opts.dataChannel] } : {}) })
  try {
    const wan = lab.wan!
    const hub = await startHub(wan, ctx.fileDir)
    return { lab, eps: lab.endpoints!, wan, hub, url: `${hub.url}/artifact.bin` }
  } catch (err) {
    await lab.stop()
    throw err
  }
}

interface TaskView { pieceCount: number, bytesByEdge: Record<string, number>, peers: Array<{ id: string, pool?: string, pieces: number, done: boolean, parents: string[] }> }

async function taskView (wan: WanLab, eps: LabEndpoints): Promise<TaskView | undefined> {
  const text = await wan.fetchText(wan.cloudNetns, `${eps.scheduler.url}/api/v1/tasks`).catch(() => '[]')
  const tasks = JSON.parse(text) as TaskView[]
  return tasks[0]
}

/** Sum of a labelled Prometheus series over several daemons, scraped from inside their namespaces (0 where absent). */
async function scrapeSum (wan: WanLab, targets: Array<{ metrics: string, netns?: string }>, name: string, ...labels: string[]): Promise<number> {
  let n = 0
  for (const t of targets) {
    const text = await wan.fetchText(t.netns!, t.metrics).catch(() => '')
    try { n += metric(text, name, ...labels) } catch {}
  }
  return n
}

async function runDamselfly (ctx: Ctx): Promise<SystemResult> {
  const { lab, eps, wan, hub, url } = await damselflyLab(ctx, 'damselfly')
  try {
    const outputs = eps.peers.map((_, i) => join(ctx.dir, `damselfly-${i}.bin`))
    const pids = [eps.scheduler.pid, ...eps.seeds.map((s) => s.pid), ...eps.peers.map((p) => p.pid)]
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const rx0 = await wanRx(wan)
    const cpu0 = await totalCpuSecondsOf(pids)
    const io0 = await ioBytesOf(eps.scheduler.pid)
    const t0 = performance.now()
    const secs = await Promise.all(eps.peers.map(async (p, i) => await getViaPeer(ctx, p, url, outputs[i], t0)))
    const wanBytesPerPool = minus(await wanRx(wan), rx0)
    const cpuSeconds = await totalCpuSecondsOf(pids) - cpu0
    const schedIo = await ioBytesOf(eps.scheduler.pid) - io0
    const task = await taskView(wan, eps)
    // pieces that crossed pools went encrypted when the encrypted uploads (libp2p/Noise, TLS) cover every cross-pool byte
    const crossPool = Object.entries(task?.bytesByEdge ?? {}).reduce((a, [edge, n]) => { const [from, to] = edge.split('>'); return from !== to && from !== 'origin' ? a + n : a }, 0)
    const all = [...eps.seeds, ...eps.peers]
    const encrypted = await scrapeSum(wan, all, 'damselfly_upload_transport_bytes_total', 'transport="libp2p"') +
      await scrapeSum(wan, all, 'damselfly_upload_transport_bytes_total', 'transport="tls"')
    ctx.log(`damselfly: cross-pool ${(crossPool / MiB).toFixed(1)} MiB, encrypted uploads ${(encrypted / MiB).toFixed(1)} MiB; edges ${JSON.stringify(task?.bytesByEdge ?? {})}`)
    const ok = secs.filter((s): s is number => s != null)
    const originBytes = await hub.stop()
    return {
      lastSeconds: round(Math.max(...ok)),
      p50Seconds: round(median(ok)),
      originBytes,
      wanBytesPerPool,
      cpuSeconds: round(cpuSeconds),
      peakRssBytes: 0,
      allVerified: ok.length === outputs.length && await allMatch(outputs, ctx.sha256),
      crossPoolEncrypted: crossPool > 0 && encrypted >= crossPool,
      schedulerBytesPerPeerPerGiB: Math.round(schedIo / eps.peers.length / (outputs.length * ctx.opts.fileBytes / 2 ** 30))
    }
  } finally {
    await hub.stop().catch(() => 0)
    await lab.stop()
  }
}

/** Polls `f` every 200 ms until it returns a value, or `ms` pass (then undefined). */
async function poll<T> (f: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    const v = await f()
    if (v != null) return v
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return undefined
}

const WATCHER = `
const [sched, dev, mode, ...ids] = process.argv.slice(1)
const { execFileSync } = require('node:child_process')
const tick = async () => {
  const tasks = await fetch(sched + '/api/v1/tasks').then((r) => r.json()).catch(() => [])
  const t = tasks[0]
  const ours = (t?.peers ?? []).filter((m) => ids.includes(m.id))
  const hit = t != null && t.pieceCount > 0 && (mode === 'full'
    ? ours.some((m) => m.pieces === t.pieceCount)
    : ids.every((id) => ours.some((m) => m.id === id && m.pieces > 0)))
  if (hit) {
    if (dev !== '-') execFileSync('ip', ['link', 'set', 'dev', dev, 'down'])
    const missing = Object.fromEntries(ids.map((id) => [id.slice(-8), t.pieceCount - (ours.find((m) => m.id === id)?.pieces ?? 0)]))
    process.stdout.write(JSON.stringify({ missing }) + '\\n')
    process.exit(0)
  }
  setTimeout(tick, 50)
}
tick()
`

/**
 * Waits, polling the scheduler every 50 ms from inside the cloud namespace, until one of `ids`
 * holds every piece (`full`) or each of them holds some (`started`); then downs `pool`'s WAN link
 * at once when `cut` (from here every look into the lab is a process start: too slow). Resolves
 * with what each of `ids` still missed.
 */
async function watch (wan: WanLab, eps: LabEndpoints, pool: string, ids: string[], mode: 'full' | 'started', cut: boolean): Promise<{ missing: Record<string, number> }> {
  const child = spawn('ip', ['netns', 'exec', wan.cloudNetns, process.execPath, '-e', WATCHER, eps.scheduler.url, cut ? wan.pool(pool).cloudDev : '-', mode, ...ids], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout!.on('data', (d) => { out += String(d) })
  const timer = setTimeout(() => child.kill(), 600_000)
  const code = await exited(child)
  clearTimeout(timer)
  if (code !== 0) throw new Error(`${pool}: never ${mode}`)
  // the pool's own end goes down too, as when a WAN line is cut
  if (cut) await wan.setLink(pool, false)
  return JSON.parse(out.trim())
}

async function runAutonomy (ctx: Ctx): Promise<NonNullable<EdgeSummary['autonomy']>> {
  const pool = ctx.opts.pools[0]
  const { lab, eps, wan, hub, url } = await damselflyLab(ctx, 'autonomy')
  try {
    const outputs = eps.peers.map((_, i) => join(ctx.dir, `autonomy-${i}.bin`))
    const inPool = eps.peers.filter((p) => p.pool === pool)
    const [first, ...rest] = inPool
    const rx0 = await wanRx(wan)
    const t0 = performance.now()
    let restored = false
    const get = async (i: number): Promise<{ s: number | undefined, cut: boolean }> => {
      const p = eps.peers[i]
      const s = await getViaPeer(ctx, p, url, outputs[i], t0)
      return { s, cut: p.pool === pool && !restored }
    }
    // the pool's other peers ask only once its first peer holds the whole file, and the link is cut
    // as soon as each of them has its first piece: they have heard from the scheduler once (the
    // manifest, a plan), and must fetch all the rest from the pool with the cloud unreachable
    const gets = eps.peers.map((p, i) => rest.includes(p) ? undefined : get(i))
    await watch(wan, eps, pool, [first.id], 'full', false)
    for (const [i, p] of eps.peers.entries()) if (rest.includes(p)) gets[i] = get(i)
    const settled = Promise.all(gets as Array<ReturnType<typeof get>>)
    const cut = await watch(wan, eps, pool, rest.map((p) => p.id), 'started', true)
    // the origin goes away too: nothing may fall back to it
    await hub.stop().catch(() => 0)
    const cutAfterSeconds = (performance.now() - t0) / 1000
    ctx.log(`autonomy: cut ${pool}'s WAN link at ${cutAfterSeconds.toFixed(2)} s; its other peers were missing ${JSON.stringify(cut.missing)} pieces`)
    const results = await settled
    const finishedWithoutCloud = results.every((r, i) => eps.peers[i].pool !== pool || (r.s != null && r.cut))
    const wanBytesPerPool = minus(await wanRx(wan), rx0)
    restored = true
    await wan.setLink(pool, true)
    // the cut pool's peers register again once the cloud is back (normal scheduling resumes)
    const rejoined = await poll(async () => {
      const peers = JSON.parse(await wan.fetchText(wan.cloudNetns, `${eps.scheduler.url}/api/v1/peers`).catch(() => '[]')) as Array<{ id: string }>
      return inPool.every((m) => peers.some((p) => p.id === m.id)) ? true : undefined
    }, 60_000) === true
    const ok = results.map((r) => r.s).filter((s): s is number => s != null)
    return {
      pool,
      cutAfterSeconds: round(cutAfterSeconds),
      missingPiecesAtCut: cut.missing,
      finishedWithoutCloud,
      lastSeconds: round(Math.max(...ok)),
      allVerified: ok.length === outputs.length && await allMatch(outputs, ctx.sha256),
      // the origin was stopped at the cut: nothing reached it while the pool was cut off
      originBytesWhileCut: 0,
      wanBytesPerPool,
      rejoined
    }
  } finally {
    await hub.stop().catch(() => 0)
    await lab.stop()
  }
}

async function runLeaderFailover (ctx: Ctx): Promise<NonNullable<EdgeSummary['leaderFailover']>> {
  const pool = ctx.opts.pools[0]
  const { lab, eps, wan, hub, url } = await damselflyLab(ctx, 'failover')
  try {
    const outputs = eps.peers.map((_, i) => join(ctx.dir, `failover-${i}.bin`))
    const ids = new Map(eps.peers.map((p) => [p.id, p]))
    const rx0 = await wanRx(wan)
    const t0 = performance.now()
    const gets = eps.peers.map(async (p, i) => await getViaPeer(ctx, p, url, outputs[i], t0))
    const all = Promise.all(gets)
    // the pool's fetcher across the WAN: a member of the pool with a parent outside it, once half a copy has crossed
    const leader = await poll(async () => {
      const rx = (await wan.wanBytes(pool)).rx - rx0[pool]
      if (rx < ctx.opts.fileBytes / 2) return undefined
      const t = await taskView(wan, eps)
      const m = t?.peers.find((m) => ids.get(m.id)?.pool === pool && m.parents.some((id) => ids.get(id)?.pool !== pool))
      return m != null ? ids.get(m.id) : undefined
    }, 600_000)
    if (leader == null) throw new Error(`no cross-pool fetcher found in ${pool}`)
    lab.process(leader.pid)?.kill('SIGKILL')
    const killedAfterSeconds = (performance.now() - t0) / 1000
    ctx.log(`leaderFailover: SIGKILLed ${pool}'s WAN fetcher ${leader.id.slice(-8)} at ${killedAfterSeconds.toFixed(2)} s`)
    const secs = await all
    const wanBytesPerPool = minus(await wanRx(wan), rx0)
    const survivors = eps.peers.map((p, i) => ({ p, i })).filter(({ p }) => p.id !== leader.id)
    const ok = survivors.map(({ i }) => secs[i]).filter((s): s is number => s != null)
    return {
      pool,
      killedAfterSeconds: round(killedAfterSeconds),
      wanBytesPerPool,
      lastSeconds: round(Math.max(...ok)),
      allVerified: ok.length === survivors.length && await allMatch(survivors.map(({ i }) => outputs[i]), ctx.sha256)
    }
  } finally {
    await hub.stop().catch(() => 0)
    await lab.stop()
  }
}

const BUDGET_WINDOW_S = 5

async function runPoolBudget (ctx: Ctx, budget: string): Promise<NonNullable<EdgeSummary['poolBudget']>> {
  const budgetBytesPerSec = parseRate(budget)
  const { lab, eps, wan, hub, url } = await damselflyLab(ctx, 'pool-budget', ['--pool-wan-budget', String(budgetBytesPerSec)])
  try {
    const outputs = eps.peers.map((_, i) => join(ctx.dir, `budget-${i}.bin`))
    const rx0 = await wanRx(wan)
    const t0 = performance.now()
    let done = false
    const all = Promise.all(eps.peers.map(async (p, i) => await getViaPeer(ctx, p, url, outputs[i], t0))).finally(() => { done = true })
    // the links' counters once a second: each pool's rate over every 5 s window of the run
    const samples: Array<Record<string, number>> = []
    while (!done) {
      samples.push(minus(await wanRx(wan), rx0))
      await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 1000))])
    }
    const secs = await all
    const wanBytesPerPool = minus(await wanRx(wan), rx0)
    const ok = secs.filter((s): s is number => s != null)
    const lastSeconds = Math.max(...ok)
    const perPool = (f: (pool: string) => number): Record<string, number> => Object.fromEntries(ctx.opts.pools.map((p) => [p, Math.round(f(p))]))
    return {
      budgetBytesPerSec,
      lastSeconds: round(lastSeconds),
      wanBytesPerPool,
      meanWanRatePerPool: perPool((p) => wanBytesPerPool[p] / lastSeconds),
      max5sWanRatePerPool: perPool((p) => Math.max(0, ...samples.slice(BUDGET_WINDOW_S).map((x, i) => (x[p] - samples[i][p]) / BUDGET_WINDOW_S))),
      allVerified: ok.length === outputs.length && await allMatch(outputs, ctx.sha256)
    }
  } finally {
    await hub.stop().catch(() => 0)
    await lab.stop()
  }
}

export async function runEdge (opts: EdgeOptions): Promise<EdgeSummary> {
  const log = opts.log ?? (() => {})
  const why = await wanLabUnavailable()
  if (why != null) throw new Error(`the edge bench needs the WAN lab: ${why}`)
  const rate = parseTcRate(opts.wan)
  const dir = await mkdtemp(join(tmpdir(), 'damselfly-edge-'))
  const summary: EdgeSummary = {
    scenario: 'edge',
    pools: opts.pools.length,
    peersPerPool: opts.peersPerPool,
    fileBytes: opts.fileBytes,
    wan: opts.wan,
    wanRateBytesPerSec: rate,
    // every pool needs one copy through its link: no system can beat this
    floorSeconds: round(opts.fileBytes / rate),
    date: new Date().toISOString(),
    results: {}
  }
  try {
    const fileDir = join(dir, 'origin')
    await mkdir(fileDir, { recursive: true })
    const file = join(fileDir, 'artifact.bin')
    log(`generating a ${(opts.fileBytes / MiB).toFixed(0)} MiB file; ${opts.pools.length} pools × ${opts.peersPerPool} peers behind ${opts.wan} links (floor ${summary.floorSeconds} s)`)
    await writeRandomFile(file, opts.fileBytes)
    const ctx: Ctx = { opts, file, fileDir, sha256: await sha256File(file), dir, log }
    const runs: Array<[string, (c: Ctx) => Promise<SystemResult>]> = [['direct', runDirect], ['bittorrent', runBittorrent], ['damselfly', runDamselfly]]
    for (const [name, f] of runs) {
      if (opts.only != null && !opts.only.includes(name)) continue
      log(`${name}: running …`)
      try {
        summary.results[name] = await f(ctx)
      } catch (err: any) {
        summary.results[name] = { lastSeconds: 0, p50Seconds: 0, originBytes: 0, wanBytesPerPool: {}, cpuSeconds: 0, peakRssBytes: 0, allVerified: false, error: String(err.message ?? err).slice(0, 500) }
      }
      const r = summary.results[name]
      log(`${name}: ${r.error ?? r.skipped ?? `last ${r.lastSeconds} s (${(r.lastSeconds / summary.floorSeconds).toFixed(2)}x floor), p50 ${r.p50Seconds} s, WAN per pool ${Object.values(r.wanBytesPerPool).map((b) => (b / opts.fileBytes).toFixed(3)).join(' ')} copies, verified ${String(r.allVerified)}`}`)
      if (process.env.DAMSELFLY_KEEP !== '1') await rm(join(dir, name), { recursive: true, force: true })
    }
    if (opts.only == null || opts.only.includes('autonomy')) {
      log('autonomy: running …')
      summary.autonomy = await runAutonomy(ctx).catch((err) => ({ pool: opts.pools[0], cutAfterSeconds: 0, finishedWithoutCloud: false, lastSeconds: 0, allVerified: false, originBytesWhileCut: 0, wanBytesPerPool: {}, rejoined: false, error: String(err.message ?? err).slice(0, 500) }))
      log(`autonomy: ${JSON.stringify(summary.autonomy)}`)
    }
    if (opts.only == null || opts.only.includes('leaderFailover')) {
      log('leaderFailover: running …')
      summary.leaderFailover = await runLeaderFailover(ctx).catch((err) => ({ pool: opts.pools[0], killedAfterSeconds: 0, wanBytesPerPool: {}, lastSeconds: 0, allVerified: false, error: String(err.message ?? err).slice(0, 500) }))
      log(`leaderFailover: ${JSON.stringify(summary.leaderFailover)}`)
    }
    if (opts.poolBudget != null && (opts.only == null || opts.only.includes('poolBudget'))) {
      log(`poolBudget: running with --pool-wan-budget ${opts.poolBudget} …`)
      summary.poolBudget = await runPoolBudget(ctx, opts.poolBudget).catch((err) => ({ budgetBytesPerSec: 0, lastSeconds: 0, wanBytesPerPool: {}, meanWanRatePerPool: {}, max5sWanRatePerPool: {}, allVerified: false, error: String(err.message ?? err).slice(0, 500) }))
      log(`poolBudget: ${JSON.stringify(summary.poolBudget)}`)
    }
  } finally {
    if (process.env.DAMSELFLY_KEEP !== '1') await rm(dir, { recursive: true, force: true })
  }
  return summary
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('index.js')) {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      pools: { type: 'string' },
      'peers-per-pool': { type: 'string' },
      size: { type: 'string' },
      wan: { type: 'string' },
      only: { type: 'string' },
      'pool-budget': { type: 'string' },
      'data-channel': { type: 'string' },
      save: { type: 'string' }
    }
  })
  const say = (s: string): void => { if (!values.json) process.stderr.write(s + '\n') }
  const k = Number(values.pools ?? (values.quick ? 2 : 3))
  const opts: EdgeOptions = {
    pools: Array.from({ length: k }, (_, i) => `edge-${String.fromCharCode(97 + i)}`),
    peersPerPool: Number(values['peers-per-pool'] ?? (values.quick ? 2 : 4)),
    fileBytes: Number(values.size ?? (values.quick ? 32 : 512) * MiB),
    wan: values.wan ?? (values.quick ? '50mbit' : '200mbit'),
    only: values.only?.split(','),
    poolBudget: values['pool-budget'],
    dataChannel: values['data-channel'] as EdgeOptions['dataChannel'],
    log: say
  }
  // Ctrl-C: exit through process.exit so the lab's exit hook removes the namespaces
  process.once('SIGINT', () => process.exit(130))
  process.once('SIGTERM', () => process.exit(143))
  const summary = await runEdge(opts)
  // the results folder keeps full comparisons only: a quick or `--only` run saves where `--save` says
  const saveTo = values.save ?? (values.quick || values.only != null ? undefined : fileURLToPath(new URL('../results', import.meta.url)))
  if (saveTo != null) {
    await mkdir(saveTo, { recursive: true })
    const base = join(saveTo, `edge-${summary.date.slice(0, 10)}`)
    await writeFile(`${base}.json`, JSON.stringify(summary, null, 2) + '\n')
    await writeFile(`${base}.svg`, swarmChart({
      ...summary,
      peers: summary.pools * summary.peersPerPool,
      originRateBytesPerSec: summary.wanRateBytesPerSec,
      title: `${summary.pools} pools × ${summary.peersPerPool} peers × ${(summary.fileBytes / MiB).toFixed(0)} MiB, each pool behind a ${summary.wan} WAN link`,
      floorLabel: 'file ÷ WAN rate',
      results: Object.fromEntries(Object.entries(summary.results).map(([n, r]) => [n, { ...r, originBytes: r.originBytes }]))
    }))
    say(`wrote ${base}.json and ${base}.svg`)
  }
  const line = {
    ...summary,
    results: Object.fromEntries(Object.entries(summary.results).map(([n, r]) => [n, r]))
  }
  if (values.json) process.stdout.write(JSON.stringify(line) + '\n')
  else console.log(JSON.stringify(line, null, 2))
  const ok = Object.values(summary.results).every((r) => r.skipped != null || r.allVerified) &&
    (summary.autonomy?.allVerified ?? true) && (summary.leaderFailover?.allVerified ?? true) && (summary.poolBudget?.allVerified ?? true)
  process.exit(ok ? 0 : 1)
}
