// `npm run bench -- scheduler [--json] [--quick]`: drives the real scheduler
// logic (Swarm) with simulated peers registering, announcing and reporting
// pieces, and measures how fast it decides.
import { parseArgs } from 'node:util'
import { Swarm } from '@damselfly/scheduler-core'
import { Bitfield } from '@damselfly/utils'
import { prng } from '@damselfly/testkit'
import { NO_TASK_KEY_PARTS, type PeerMessage, type SchedulerMessage, type TaskUpdate } from '@damselfly/proto'

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false }, peers: { type: 'string' }, tasks: { type: 'string' }, pieces: { type: 'string', default: '32' } } })
const PEERS = Number(values.peers ?? (values.quick ? 1000 : 10_000))
const TASKS = Number(values.tasks ?? (values.quick ? 20 : 200))
const PIECES = Number(values.pieces)
const SEEDS = Math.max(2, Math.round(PEERS / 500))
const POOLS = ['edge-a', 'edge-b', 'edge-c', 'edge-d']
const PL = 4 * 1024 * 1024
const rand = prng(42)

const latencies: number[] = []
const plans = new Map<string, TaskUpdate>()
const swarm = new Swarm({ setTimer: () => undefined, trustTaskIds: true })
const send = (id: string) => (msg: Partial<SchedulerMessage>): void => {
  if (msg.update != null) { latencies.push(swarm.lastDecisionMs); plans.set(`${id}/${msg.update.taskId}`, msg.update) }
}
const taskId = (t: number): string => t.toString(16).padStart(64, '0')
const handle = (id: string, m: Partial<PeerMessage>): void => { swarm.handle(id, m as PeerMessage) }

const heapBefore = process.memoryUsage().heapUsed
const t0 = performance.now()
for (let s = 0; s < SEEDS; s++) {
  swarm.register(`seed-${s}`, { addrs: ['/ip4/10.0.0.1/tcp/1'], pool: 'cloud', idc: '', hostname: `seed-${s}`, seed: true, uploadSlots: 64, token: '', tasks: [] }, send(`seed-${s}`))
}
const members: string[][] = Array.from({ length: TASKS }, () => [])
for (let p = 0; p < PEERS; p++) {
  const id = `peer-${p}`
  swarm.register(id, { addrs: ['/ip4/10.0.0.2/tcp/1'], pool: POOLS[p % POOLS.length], idc: '', hostname: id, seed: false, uploadSlots: 8, token: '', tasks: [] }, send(id))
  const t = p % TASKS
  members[t].push(id)
  handle(id, { announce: { taskId: taskId(t), url: `http://origin/${t}`, headers: [], pieceLength: PL, digest: '', ...NO_TASK_KEY_PARTS } })
}
swarm.flush()
// seeds publish geometry and the full manifest
for (let t = 0; t < TASKS; t++) {
  const task = swarm.tasks.get(taskId(t))!
  const seed = task.seedPeer!
  handle(seed, { meta: { taskId: task.id, contentLength: PIECES * PL, pieceLength: PL, url: task.url } })
  const idx = Array.from({ length: PIECES }, (_, i) => i)
  handle(seed, { pieces: { taskId: task.id, indexes: idx, digests: idx.map((i) => ({ index: i, digest: new Uint8Array(32).fill(i) })), parentId: '', costMs: 0 } })
}
swarm.flush()
// rounds: every unfinished peer takes one piece from a parent in its latest plan and reports it
const have = new Map<string, Bitfield>()
let reports = 0
for (let round = 0; round < PIECES * 2; round++) {
  let active = 0
  for (let t = 0; t < TASKS; t++) {
    for (const id of members[t]) {
      const h = have.get(id) ?? new Bitfield(PIECES)
      have.set(id, h)
      if (h.complete) continue
      active++
      const plan = plans.get(`${id}/${taskId(t)}`)
      const parents = plan?.parents ?? []
      if (parents.length === 0) continue
      const parent = parents[Math.floor(rand() * parents.length)]
      const ph = new Bitfield(PIECES, parent.have)
      const candidates = [...ph.missingIn(h)]
      if (candidates.length === 0) continue
      const i = candidates[Math.floor(rand() * candidates.length)]
      h.set(i)
      reports++
      handle(id, { pieces: { taskId: taskId(t), indexes: [i], digests: [], parentId: parent.peerId, costMs: 20 } })
      if (h.complete) handle(id, { finished: { taskId: taskId(t), success: true, error: '' } })
    }
  }
  swarm.flush()
  if (active === 0) break
}
const seconds = (performance.now() - t0) / 1000
latencies.sort((a, b) => a - b)
const pct = (q: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 1000) / 1000
const done = [...have.values()].filter((h) => h.complete).length
const result = {
  scenario: 'scheduler',
  peers: PEERS,
  seeds: SEEDS,
  tasks: TASKS,
  piecesPerTask: PIECES,
  pieceReports: reports,
  decisions: swarm.decisions,
  seconds: Math.round(seconds * 100) / 100,
  decisionsPerSec: Math.round(swarm.decisions / seconds),
  p50DecisionMs: pct(0.5),
  p99DecisionMs: pct(0.99),
  heapBytes: process.memoryUsage().heapUsed - heapBefore,
  rssBytes: process.memoryUsage().rss,
  peersCompleted: done
}
if (values.json) process.stdout.write(JSON.stringify(result) + '\n')
else console.table(result)
