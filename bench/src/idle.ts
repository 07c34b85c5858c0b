// `npm run bench -- idle [--peers 4] [--seconds 60] [--windows 3] [--size BYTES] [--json] [--quick]`:
// what daemons cost at rest, where edge daemons spend most of their life. A lab (scheduler, seed
// peer, N peers, as `bench scale` starts it) is measured twice: `fresh`, scheduler sessions up and
// nothing transferred; `afterDownload`, once every peer has fetched one file through the swarm and
// kept the connections to its parents and children that it opened. Each phase waits for the start-up
// or the download to settle, then reads every process's CPU (/proc/<pid>/stat, all threads) over
// `--windows` windows of `--seconds`, and its resident set at the end. Target: every daemon
// (seed and peers) ≤ 1% of a core, the median of its windows.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { startLab, type Lab } from '@damselfly/cli'
import { writeRandomFile, sha256File, allMatch, metric, startOrigin, type Origin } from '@damselfly/testkit'
import { parseBytes } from '@damselfly/utils'
import { cpuSecondsOf, rssOf, settled, wakeupsOf } from './proc.js'
import { getProcess } from './systems.js'
import { round, median } from './stats.js'

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    peers: { type: 'string' },
    seconds: { type: 'string' },
    windows: { type: 'string' },
    size: { type: 'string' }
  }
})
const peers = Number(values.peers ?? (values.quick ? 2 : 4))
const seconds = Number(values.seconds ?? (values.quick ? 1 : 60))
const windows = Number(values.windows ?? (values.quick ? 2 : 3))
const fileBytes = parseBytes(values.size ?? (values.quick ? '4MiB' : '256MiB'))
/** after settling, before the first window: timers a burst of work armed (the delay sampler's linger, 5 s) run out */
const QUIET_MS = values.quick ? 0 : 10_000
const say = (s: string): void => { if (!values.json) process.stderr.write(s + '\n') }

interface Proc { name: string, role: 'scheduler' | 'seed' | 'peer' | 'gauge', pid: number, metrics?: string }

/**
 * The machine's own price of waking up, measured in the same windows: a bare node process whose
 * only work is a 1 s timer. On this VM one idle wake-up has cost from tens of µs to ~7 ms of CPU
 * (/proc/<pid>/schedstat) from hour to hour, so a daemon's idle figure follows the hour; read it
 * beside this one.
 */
const GAUGE_SCRIPT = 'setInterval(() => {}, 1000)'

interface Phase {
  /** per process, its CPU in % of one core: the median of its windows */
  cpuPercent: Record<string, number>
  /** per process, every window */
  windows: Record<string, number[]>
  /**
   * per process, its main thread's wake-ups a minute (the median of its windows): independent of
   * what one costs this hour, unlike cpuPercent; the bare node process's timer alone makes 60
   */
  wakeupsPerMinute: Record<string, number>
  /** the busiest daemon (seed or peer): what the ≤ 1% target is about */
  worstDaemonPercent: number
  /** the bare node process with a 1 s timer (GAUGE_SCRIPT), same windows */
  bareNodePercent: number
  rssBytes: Record<string, number>
  /** libp2p connections each daemon holds (its metrics' damselfly_connected_peers): one between peers closes after 2 min idle */
  connections: Record<string, number>
}

async function measure (procs: Proc[], label: string): Promise<Phase> {
  await settled(procs.map((p) => p.pid))
  if (QUIET_MS > 0) await sleep(QUIET_MS)
  const perWindow: Record<string, number[]> = Object.fromEntries(procs.map((p) => [p.name, []]))
  const wakeups: Record<string, number[]> = Object.fromEntries(procs.map((p) => [p.name, []]))
  const read = async (): Promise<Array<[number, number]>> => await Promise.all(procs.map(async (p) => [await cpuSecondsOf(p.pid), await wakeupsOf(p.pid)]))
  for (let w = 0; w < windows; w++) {
    const before = await read()
    const t0 = performance.now()
    await sleep(seconds * 1000)
    const after = await read()
    const elapsed = (performance.now() - t0) / 1000
    procs.forEach((p, i) => {
      perWindow[p.name].push(round((after[i][0] - before[i][0]) / elapsed * 100))
      wakeups[p.name].push(Math.round((after[i][1] - before[i][1]) / elapsed * 60))
    })
    say(`${label}, window ${w + 1} of ${seconds} s: ${procs.map((p) => `${p.name} ${perWindow[p.name][w].toFixed(2)}%`).join('  ')}`)
  }
  const cpuPercent = Object.fromEntries(procs.map((p) => [p.name, round(median(perWindow[p.name]))]))
  const wakeupsPerMinute = Object.fromEntries(procs.map((p) => [p.name, Math.round(median(wakeups[p.name]))]))
  const rssBytes = Object.fromEntries(await Promise.all(procs.map(async (p) => [p.name, await rssOf(p.pid)] as const)))
  const connections: Record<string, number> = {}
  for (const p of procs) {
    if (p.metrics == null) continue
    const text = await fetch(p.metrics).then(async (r) => await r.text()).catch(() => '')
    try { connections[p.name] = metric(text, 'damselfly_connected_peers') } catch {}
  }
  const worstDaemonPercent = Math.max(...procs.filter((p) => p.role === 'seed' || p.role === 'peer').map((p) => cpuPercent[p.name]))
  const bareNodePercent = cpuPercent.bareNode
  say(`${label}: median ${procs.map((p) => `${p.name} ${cpuPercent[p.name].toFixed(2)}%`).join('  ')}; wake-ups a minute ${procs.map((p) => `${p.name} ${wakeupsPerMinute[p.name]}`).join(' ')}; RSS ${procs.map((p) => `${p.name} ${(rssBytes[p.name] / 2 ** 20).toFixed(0)}`).join(' ')} MiB; connections ${JSON.stringify(connections)}`)
  return { cpuPercent, windows: perWindow, wakeupsPerMinute, worstDaemonPercent, bareNodePercent, rssBytes, connections }
}

const dir = await mkdtemp(join(tmpdir(), 'damselfly-idle-'))
// everything started here stops in the one `finally`, whichever start failed
const gauge = spawn(process.execPath, ['-e', GAUGE_SCRIPT], { stdio: 'ignore' })
let origin: Origin | undefined
let lab: Lab | undefined
try {
  const file = join(dir, 'artifact.bin')
  await writeRandomFile(file, fileBytes)
  const sha256 = await sha256File(file)
  origin = await startOrigin({ files: { '/artifact.bin': file } })
  const url = `${origin.url}/artifact.bin`
  lab = await startLab({ peers, dataDir: join(dir, 'lab'), exportRoots: [dir], logLevel: 'warn', seedArgs: ['--pool', 'default', '--data-channel', 'tcp'], peerArgs: ['--data-channel', 'tcp'] })
  const eps = lab.endpoints!
  const procs: Proc[] = [
    { name: 'scheduler', role: 'scheduler', pid: eps.scheduler.pid },
    ...eps.seeds.map((s, i) => ({ name: eps.seeds.length > 1 ? `seed${i}` : 'seed', role: 'seed' as const, pid: s.pid, metrics: s.metrics })),
    ...eps.peers.map((p, i) => ({ name: `peer${i}`, role: 'peer' as const, pid: p.pid, metrics: p.metrics })),
    { name: 'bareNode', role: 'gauge', pid: gauge.pid! }
  ]
  const fresh = await measure(procs, 'fresh')
  const outputs = eps.peers.map((_, i) => join(dir, `out-${i}.bin`))
  const t0 = performance.now()
  await Promise.all(eps.peers.map(async (p, i) => await getProcess([url, '-O', outputs[i], '--api', p.api], t0, [], p.apiToken)))
  const allVerified = await allMatch(outputs, sha256)
  say(`every peer downloaded ${fileBytes} bytes in ${((performance.now() - t0) / 1000).toFixed(2)} s; verified: ${String(allVerified)}`)
  const afterDownload = await measure(procs, 'after a download')
  const summary = { scenario: 'idle', peers, fileBytes, seconds, windows, allVerified, fresh, afterDownload }
  if (values.json) process.stdout.write(JSON.stringify(summary) + '\n')
  else process.stdout.write(`daemons at rest (worst daemon, median of ${windows} × ${seconds} s): fresh ${fresh.worstDaemonPercent}%, after a download ${afterDownload.worstDaemonPercent}% of a core (target ≤ 1%); a bare node process with a 1 s timer: ${fresh.bareNodePercent}%, ${afterDownload.bareNodePercent}%\n`)
} finally {
  await lab?.stop()
  await origin?.stop()
  gauge.kill()
  await rm(dir, { recursive: true, force: true })
}
