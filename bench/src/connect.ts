// `npm run bench -- connect [--json] [--quick]`: the CPU both ends spend when a peer starts
// fetching from a parent it has no connection to yet (libp2p dial with TCP + Noise + yamux, the
// data channel's ticket and socket, the first piece request), or with a ticket from the scheduler's
// plan (no libp2p connection: the data socket alone), against the same request over links that
// are already open. The parent is its own process, as in a swarm. Why it matters: a peer meets
// most of the swarm as parents over one download (16 peers x 512 MiB on loopback: ~130 libp2p
// connections and ~230 data channels), so this cost grows with the square of the swarm.
import { parseArgs } from 'node:util'
import { createNode } from '@damselfly/task-engine'
import { PieceClient, makeTicket, type DataChannelMode, type Transport } from '@damselfly/piece-exchange'
import { silentLogger } from '@damselfly/utils'
import { cpuSecondsOf } from './proc.js'
import { startSender } from './sender.js'
import { round, median } from './stats.js'

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    links: { type: 'string' },
    runs: { type: 'string', default: '3' }
  }
})
const links = Number(values.links ?? (values.quick ? 10 : 200))
const WARMUP = Math.min(links, 30)
const runs = Math.max(1, Number(values.runs))
/** small enough that the request, not the bytes, is what a warm fetch costs */
const PIECE = 64 * 1024
/** links open at once: fewer than the parent's upload slots */
const BATCH = 8

interface Link { label: string, serverMode: string, client: DataChannelMode, schedulerTicket?: boolean }
// `tcp`: a parent in the child's node pool (plain data channel); `tls`: a parent in another pool;
// `*-ticket`: the same with a ticket from the scheduler's plan (no libp2p connection to the parent;
// the bench makes the ticket as the scheduler does, with the secret the parent registers);
// `libp2p`: data channels off, pieces over a libp2p stream
const kinds: Link[] = [
  { label: 'tcp-ticket', serverMode: 'piece', client: 'tcp', schedulerTicket: true },
  { label: 'tls-ticket', serverMode: 'piece-tls', client: 'tcp', schedulerTicket: true },
  { label: 'tcp', serverMode: 'piece', client: 'tcp' },
  { label: 'tls', serverMode: 'piece-tls', client: 'tcp' },
  { label: 'libp2p', serverMode: 'piece', client: 'off' }
]


async function measure (kind: Link): Promise<{ newLinkCpuMs: number, requestCpuMs: number, setupCpuMs: number, setupSpreadMs: [number, number], fetches: number, transports: string[], withSchedulerTicket: number }> {
  const s = await startSender({ mode: kind.serverMode, size: PIECE, pieceLength: PIECE })
  const node = await createNode()
  await node.start()
  const parent = { peerId: s.info.peerId, addrs: s.info.addrs, pool: 'default' }
  const log = silentLogger()
  let fetched = 0
  /** what carried the pieces: the measurement is of the link it claims only if this is one kind */
  const transports = new Set<string>()
  /** new links opened with a scheduler ticket (no libp2p connection) */
  const opened = { scheduler: 0 }
  const offer = s.info.offer
  const fetchOne = async (client: PieceClient, child?: string): Promise<void> => {
    const via: { transport?: Transport } = {}
    const ticket = kind.schedulerTicket === true && child != null ? { ...makeTicket(Buffer.from(offer.secret, 'hex'), child, 60_000), host: offer.host, port: offer.port, plainPort: offer.plainPort, tls: offer.tls } : undefined
    const buf = await client.fetch({ ...parent, ticket }, s.info.taskId, 0, PIECE, undefined, undefined, via)
    if (buf.byteLength !== PIECE) throw new Error(`got ${buf.byteLength} bytes, expected ${PIECE}`)
    transports.add(via.transport ?? 'unknown')
    fetched++
  }
  /** CPU milliseconds both processes spent in `f` */
  const cpuOf = async (f: () => Promise<void>): Promise<number> => {
    const s0 = await cpuSecondsOf(s.pid)
    const r0 = process.cpuUsage()
    await f()
    const r1 = process.cpuUsage(r0)
    return ((await cpuSecondsOf(s.pid)) - s0 + (r1.user + r1.system) / 1e6) * 1000
  }
  const warm = new PieceClient(node, { log, dataChannel: kind.client, pool: 'default' })
  /**
   * CPU per new link. Each is a child node of its own (libp2p keeps one connection per pair of
   * peers), made and torn down outside the measured section: a swarm's download does not count
   * its daemons' start or stop either. In batches, so the parent's upload slots are never all taken.
   */
  const freshLinks = async (n: number): Promise<number> => {
    let cpu = 0
    for (let done = 0; done < n; done += BATCH) {
      const nodes = await Promise.all(Array.from({ length: Math.min(BATCH, n - done) }, async () => await createNode()))
      await Promise.all(nodes.map(async (c) => { await c.start() }))
      const clients = nodes.map((c) => new PieceClient(c, { log, dataChannel: kind.client, pool: 'default' }))
      cpu += await cpuOf(async () => { for (const [i, c] of clients.entries()) await fetchOne(c, nodes[i].peerId.toString()) })
      opened.scheduler += clients.reduce((a, c) => a + c.dataVia.scheduler, 0)
      await Promise.all(clients.map(async (c) => { await c.stop() }))
      await Promise.all(nodes.map(async (c) => { await c.stop() }))
    }
    return cpu / n
  }
  const requests = async (n: number): Promise<number> => await cpuOf(async () => { for (let i = 0; i < n; i++) await fetchOne(warm) }) / n
  try {
    // JIT warm-up on both sides, as in a daemon that has been up for a while
    await freshLinks(WARMUP)
    await fetchOne(warm)
    const fresh: number[] = []
    const request: number[] = []
    for (let r = 0; r < runs; r++) {
      fresh.push(await freshLinks(links))
      request.push(await requests(links))
    }
    const setups = fresh.map((f, i) => f - request[i])
    return { newLinkCpuMs: round(median(fresh)), requestCpuMs: round(median(request)), setupCpuMs: round(median(setups)), setupSpreadMs: [round(Math.min(...setups)), round(Math.max(...setups))], fetches: fetched, transports: [...transports], withSchedulerTicket: opened.scheduler }
  } finally {
    await warm.stop()
    await node.stop()
    await s.stop()
  }
}

const results: Record<string, Awaited<ReturnType<typeof measure>>> = {}
for (const kind of kinds) {
  results[kind.label] = await measure(kind)
  if (!values.json) console.error(`${kind.label}: ${JSON.stringify(results[kind.label])}`)
}
const result = { scenario: 'connect', pieceBytes: PIECE, linksPerRun: links, warmupLinks: WARMUP, runs, results }
if (values.json) process.stdout.write(JSON.stringify(result) + '\n')
else console.log(result)
process.exit(0)
