// `npm run bench -- pools [--json] [--quick]`: two edge node pools and a seed
// in the cloud pool, separate processes on loopback; reports how many bytes
// crossed into each pool (the scheduler's per-edge accounting).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startOrigin, writeRandomFile, sha256File } from '@damselfly/testkit'
import { startLab } from '@damselfly/cli'
import { crossPoolBytes } from '@damselfly/scheduler-core'
import { getVia } from '@damselfly/cli'
import { allMatch, fetchJson } from '@damselfly/testkit'

export interface PoolsResult {
  fileBytes: number
  pools: Record<string, { peers: number, crossPoolBytes: number }>
  originBytes: number
  allVerified: boolean
  seconds: number
}

export async function runPools (perPool: number, size: number, pools = ['edge-a', 'edge-b']): Promise<PoolsResult> {
  const dir = await mkdtemp(join(tmpdir(), 'damselfly-pools-'))
  const file = join(dir, 'model.bin')
  await writeRandomFile(file, size)
  const sha = await sha256File(file)
  const origin = await startOrigin({ files: { '/model.bin': file } })
  const lab = await startLab({ peers: perPool * pools.length, pools, dataDir: join(dir, 'lab'), exportRoots: [dir] })
  try {
    const eps = lab.endpoints!
    const url = `${origin.url}/model.bin`
    const started = Date.now()
    const outs = eps.peers.map((_, i) => join(dir, `out-${i}.bin`))
    const results = await Promise.all(eps.peers.map(async (p, i) => await getVia(p, url, outs[i])))
    const seconds = (Date.now() - started) / 1000
    const tasks = await fetchJson<Array<{ bytesByEdge: Record<string, number> }>>(`${eps.scheduler.url}/api/v1/tasks`)
    const edges = tasks[0]?.bytesByEdge ?? {}
    const out: PoolsResult['pools'] = {}
    for (const pool of pools) {
      out[pool] = { peers: eps.peers.filter((p) => p.pool === pool).length, crossPoolBytes: crossPoolBytes(Object.entries(edges), pool) }
    }
    const allVerified = results.every((r) => r.ok) && await allMatch(outs, sha)
    return { fileBytes: size, pools: out, originBytes: origin.bytesServed, allVerified, seconds }
  } finally {
    await lab.stop()
    await origin.stop()
    if (process.env.DAMSELFLY_KEEP !== '1') await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('index.js')) {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false }, 'per-pool': { type: 'string' }, size: { type: 'string' } } })
  const perPool = Number(values['per-pool'] ?? (values.quick ? 4 : 8))
  const size = Number(values.size ?? (values.quick ? 32 : 256) * 1024 * 1024)
  const r = await runPools(perPool, size)
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n')
  else console.log(JSON.stringify(r, null, 2))
  process.exit(r.allVerified ? 0 : 1)
}
