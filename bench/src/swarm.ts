// `npm run bench -- swarm [--peers 8] [--size BYTES] [--rate BYTES/S] [--upload-limit RATE] [--only a,b] [--json] [--quick]`:
// N peers (separate processes) each need one file from an origin whose
// bandwidth is capped. The same run measures every peer downloading straight
// from the origin, BitTorrent (aria2c + opentracker, a seeder capped like the
// origin) and Damselfly (scheduler + seed peer + peers), one after another.
// --upload-limit (e.g. 20MiB) sets Damselfly's peers' and seed's --upload-rate
// and reports what each daemon uploaded per second against it.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { writeRandomFile, sha256File, allMatch } from '@damselfly/testkit'
import { parseRate } from '@damselfly/utils'
import { systems, type SwarmConfig } from './systems.js'
import { reapedChildrenCpuSeconds } from './proc.js'
import { swarmChart } from './chart.js'
import { round } from './stats.js'

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    peers: { type: 'string' },
    size: { type: 'string' },
    rate: { type: 'string' },
    'upload-limit': { type: 'string' },
    only: { type: 'string' },
    save: { type: 'string' },
    // how Damselfly's peers move pieces: tcp (plain TCP, allowed inside a pool: every peer here is in one), tls (the daemons' default: encrypted), off (libp2p streams)
    'data-channel': { type: 'string', default: 'tcp' }
  }
})
const MiB = 1024 * 1024
const peers = Number(values.peers ?? (values.quick ? 3 : 8))
const fileBytes = Number(values.size ?? (values.quick ? 32 * MiB : 1024 * MiB))
const originRateBytesPerSec = values.rate != null ? parseRate(values.rate) : 100 * MiB
const uploadRateBytesPerSec = values['upload-limit'] != null ? parseRate(values['upload-limit']) : undefined
const only = values.only?.split(',')
const say = (s: string): void => { if (!values.json) process.stderr.write(s + '\n') }

export interface SystemResult {
  lastSeconds: number
  p50Seconds: number
  originBytes: number
  cpuSeconds: number
  peakRssBytes: number
  allVerified: boolean
  cpuByRole?: Record<string, number>
  /** CPU its long-running services spent starting, before the first download (not in cpuSeconds) */
  startupCpuSeconds?: number
  /** CPU its long-running services spent stopping, after the last peer finished (not in cpuSeconds) */
  shutdownCpuSeconds?: number
  /** Damselfly: what carried the pieces (tls, tcp, off = libp2p streams) */
  dataChannel?: string
  loopP99Ms?: number
  /** bytes/s each daemon uploaded over the run, against uploadRateBytesPerSec */
  uploadRates?: { peers: number[], seeds: number[] }
  error?: string
  skipped?: string
}


function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const dir = await mkdtemp(join(tmpdir(), 'damselfly-swarm-'))
const results: Record<string, SystemResult> = {}
try {
  const file = join(dir, 'artifact.bin')
  say(`generating a ${(fileBytes / MiB).toFixed(0)} MiB file; ${peers} peers; origin capped at ${(originRateBytesPerSec / MiB).toFixed(0)} MiB/s`)
  await writeRandomFile(file, fileBytes)
  const sha256 = await sha256File(file)
  for (const system of systems) {
    if (only != null && !only.includes(system.name)) continue
    const why = await system.unavailable?.()
    if (why != null) {
      say(`${system.name}: skipped, ${why}`)
      results[system.name] = { lastSeconds: 0, p50Seconds: 0, originBytes: 0, cpuSeconds: 0, peakRssBytes: 0, allVerified: false, skipped: why }
      continue
    }
    const sysDir = join(dir, system.name)
    await mkdir(sysDir, { recursive: true })
    const cfg: SwarmConfig = { peers, fileBytes, originRateBytesPerSec, file, sha256, dir: sysDir, log: say, dataChannel: values['data-channel'], uploadRateBytesPerSec }
    say(`${system.name}: running …`)
    const cpu0 = await reapedChildrenCpuSeconds()
    try {
      const r = await system.run(cfg)
      // every process the system started has been reaped by now
      const cpuEnd = await reapedChildrenCpuSeconds()
      const cpuSeconds = (r.cpuAtDoneSeconds ?? cpuEnd) - cpu0 - (r.startupCpuSeconds ?? 0)
      const shutdownCpuSeconds = r.cpuAtDoneSeconds != null ? cpuEnd - r.cpuAtDoneSeconds : undefined
      const allVerified = r.outputs.length === peers && await allMatch(r.outputs, sha256)
      results[system.name] = {
        lastSeconds: round(Math.max(...r.peerSeconds)),
        p50Seconds: round(median(r.peerSeconds)),
        originBytes: r.originBytes,
        cpuSeconds: round(cpuSeconds),
        peakRssBytes: r.peakRssBytes,
        allVerified,
        ...(r.cpuByRole != null ? { cpuByRole: r.cpuByRole } : {}),
        ...(r.startupCpuSeconds != null ? { startupCpuSeconds: round(r.startupCpuSeconds) } : {}),
        ...(shutdownCpuSeconds != null ? { shutdownCpuSeconds: round(shutdownCpuSeconds) } : {}),
        ...(r.dataChannel != null ? { dataChannel: r.dataChannel } : {}),
        ...(r.loopP99Ms != null ? { loopP99Ms: r.loopP99Ms } : {}),
        ...(r.uploadRates != null ? { uploadRates: r.uploadRates } : {})
      }
    } catch (err: any) {
      results[system.name] = { lastSeconds: 0, p50Seconds: 0, originBytes: 0, cpuSeconds: 0, peakRssBytes: 0, allVerified: false, error: String(err.message ?? err).slice(0, 500) }
    }
    const r = results[system.name]
    say(`${system.name}: ${r.error != null ? 'FAILED ' + r.error : `last ${r.lastSeconds} s, p50 ${r.p50Seconds} s, origin ${(r.originBytes / fileBytes).toFixed(3)}x the file, ${r.cpuSeconds} CPU s${r.startupCpuSeconds != null ? ` (+${r.startupCpuSeconds} starting daemons${r.shutdownCpuSeconds != null ? `, +${r.shutdownCpuSeconds} stopping them` : ''})` : ''}, peak RSS ${(r.peakRssBytes / MiB).toFixed(0)} MiB, verified ${String(r.allVerified)}`}`)
    await rm(sysDir, { recursive: true, force: true })
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}

const summary = {
  scenario: 'swarm',
  peers,
  fileBytes,
  originRateBytesPerSec,
  ...(uploadRateBytesPerSec != null ? { uploadRateBytesPerSec } : {}),
  // the time the capped origin needs to send the file once: no system can beat it
  floorSeconds: round(fileBytes / originRateBytesPerSec),
  date: new Date().toISOString(),
  results
}
// the results folder keeps full comparisons only: a quick or `--only` run saves where `--save` says
const saveTo = values.save ?? (values.quick || values.only != null ? undefined : fileURLToPath(new URL('../results', import.meta.url)))
if (saveTo != null) {
  await mkdir(saveTo, { recursive: true })
  const base = join(saveTo, `swarm-${summary.date.slice(0, 10)}`)
  await writeFile(`${base}.json`, JSON.stringify(summary, null, 2) + '\n')
  await writeFile(`${base}.svg`, swarmChart(summary))
  say(`wrote ${base}.json and ${base}.svg`)
}
if (values.json) process.stdout.write(JSON.stringify(summary) + '\n')
else console.table(Object.fromEntries(Object.entries(results).map(([k, { cpuByRole: _, uploadRates: __, ...r }]) => [k, { ...r, originBytes: `${(r.originBytes / fileBytes).toFixed(3)}x`, peakRssBytes: `${(r.peakRssBytes / MiB).toFixed(0)} MiB` }])))
process.exit(Object.values(results).every((r) => r.skipped != null || r.allVerified) ? 0 : 1)
