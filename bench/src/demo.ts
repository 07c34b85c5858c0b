// `npm run demo`: the main job on the embedded local lab. Starts a local
// origin serving a generated file, `damselfly lab` with N peers (separate
// processes), has every peer download the file, prints a summary.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startOrigin, writeRandomFile, sha256File } from '@damselfly/testkit'
import { startLab } from '@damselfly/cli'
import { getVia } from '@damselfly/cli'
import { allMatch } from '@damselfly/testkit'

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    peers: { type: 'string', default: '3' },
    size: { type: 'string', default: String(256 * 1024 * 1024) }
  }
})
const peers = Number(values.peers)
const size = Number(values.size)
const say = (s: string): void => { if (!values.json) process.stderr.write(s + '\n') }

const dir = await mkdtemp(join(tmpdir(), 'damselfly-demo-'))
const file = join(dir, 'artifact.bin')
say(`generating a ${(size / 1048576).toFixed(0)} MiB file …`)
await writeRandomFile(file, size)
const sha = await sha256File(file)
const origin = await startOrigin({ files: { '/artifact.bin': file } })
say(`origin ${origin.url}/artifact.bin; starting lab with ${peers} peers …`)
const lab = await startLab({ peers, dataDir: join(dir, 'lab'), exportRoots: [dir] })
const eps = lab.endpoints!
let code = 0
try {
  const started = Date.now()
  const results = await Promise.all(eps.peers.map(async (p, i) => await getVia(p, `${origin.url}/artifact.bin`, join(dir, `out-${i}.bin`))))
  const seconds = (Date.now() - started) / 1000
  const allVerified = results.every((r) => r.ok) && await allMatch(results.map((_, i) => join(dir, `out-${i}.bin`)), sha)
  const sum = (k: 'bytesFromOrigin' | 'bytesFromSeed' | 'bytesFromPeers'): number => results.reduce((a, r) => a + (r[k] ?? 0), 0)
  const summary = {
    fileBytes: size,
    peers,
    originBytes: origin.bytesServed,
    bytesFromPeers: sum('bytesFromPeers'),
    bytesFromSeed: sum('bytesFromSeed'),
    bytesFromOriginByPeers: sum('bytesFromOrigin'),
    seconds,
    allVerified
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(summary) + '\n')
  } else {
    const mib = (n: number): string => (n / 1048576).toFixed(1).padStart(9)
    console.log('\n peer  pool       seconds   from seed MiB  from peers MiB  from origin MiB  ok')
    results.forEach((r, i) => {
      console.log(` ${String(i).padEnd(5)} ${eps.peers[i].pool.padEnd(10)} ${r.seconds.toFixed(2).padStart(7)}   ${mib(r.bytesFromSeed)}      ${mib(r.bytesFromPeers)}       ${mib(r.bytesFromOrigin)}   ${r.ok ? 'yes' : 'NO: ' + (r.error?.message ?? '')}`)
    })
    console.log(`\n file ${mib(size).trim()} MiB to ${peers} peers in ${seconds.toFixed(2)} s; origin served ${mib(origin.bytesServed).trim()} MiB (${(origin.bytesServed / size).toFixed(3)}x the file)`)
    console.log(` every output matches the origin's sha256: ${allVerified ? 'yes' : 'NO'}\n`)
  }
  if (!allVerified) code = 1
} finally {
  await lab.stop()
  await origin.stop()
  await rm(dir, { recursive: true, force: true })
}
process.exit(code)
