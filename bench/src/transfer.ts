// `npm run bench -- transfer [--json] [--quick]`: one receiver pulls a file
// from one sender over raw TCP, a plain libp2p stream and our piece protocol
// (over its plain TCP data channel as daemons do by default, over libp2p
// streams, and over a TLS data channel), in the same run, sender in a child
// process. Besides MB/s it reports how
// busy each side was (CPU seconds / wall seconds), which tells a CPU-bound
// path from a latency-bound one.
import { connect } from 'node:net'
import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode } from '@damselfly/task-engine'
import { PieceClient, type DataChannelMode } from '@damselfly/piece-exchange'
import { createHasher, allocPieceBuffer, releasePieceBuffer } from '@damselfly/hasher'
import { initBlake3, silentLogger, FrameReader } from '@damselfly/utils'
import { cpuSecondsOf } from './proc.js'
import { startSender, type Sender } from './sender.js'
import { round } from './stats.js'

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    size: { type: 'string' },
    depth: { type: 'string', default: '8' },
    streams: { type: 'string', default: '2' },
    only: { type: 'string' },
    'no-pool': { type: 'boolean', default: false },
    window: { type: 'string' },
    // the sender reads pieces with O_DIRECT, as a daemon does; by default it serves them from the
    // page cache, so that every row measures the wire and not the VM's disk (the raw and stream rows
    // send from memory)
    'direct-io': { type: 'boolean', default: false }
  }
})
const size = Number(values.size ?? (values.quick ? 64 : 512) * 1024 * 1024)
const pieceLength = 4 * 1024 * 1024
const depth = Number(values.depth)
const streamsPerParent = Number(values.streams)
const pooled = values['no-pool'] !== true
const initialStreamWindow = values.window != null ? Number(values.window) : undefined
await initBlake3()

interface Run { MBps: number, senderBusy: number, receiverBusy: number }

async function sender (mode: string): Promise<Sender> {
  return await startSender({ mode, size, pieceLength, initialStreamWindow, directIo: values['direct-io'] })
}

/** Times `transfer` and the CPU both processes spent on it. */
async function measure (pid: number, transfer: () => Promise<number>): Promise<Run> {
  const s0 = await cpuSecondsOf(pid)
  const r0 = process.cpuUsage()
  const t0 = performance.now()
  const bytes = await transfer()
  const seconds = (performance.now() - t0) / 1000
  const s1 = await cpuSecondsOf(pid)
  const r1 = process.cpuUsage(r0)
  return {
    MBps: Math.round(bytes / 1e6 / seconds),
    senderBusy: round((s1 - s0) / seconds),
    receiverBusy: round((r1.user + r1.system) / 1e6 / seconds)
  }
}

async function raw (): Promise<Run> {
  const s = await sender('raw')
  const r = await measure(s.pid, async () => {
    let got = 0
    await new Promise<void>((resolve, reject) => {
      const sock = connect(s.info.port, '127.0.0.1')
      sock.on('data', (d) => { got += d.byteLength })
      sock.on('end', resolve)
      sock.on('error', reject)
    })
    if (got !== size) throw new Error(`raw got ${got}`)
    return got
  })
  await s.stop()
  return r
}

async function stream (): Promise<Run> {
  const s = await sender('stream')
  const node = await createNode({ initialStreamWindow })
  await node.start()
  const r = await measure(s.pid, async () => {
    const st = await node.dialProtocol(s.info.addrs.map((a: string) => multiaddr(a)), '/bench/stream/1.0.0')
    st.maxReadBufferLength = 64 * 1024 * 1024
    const reader = new FrameReader(st, 64 * 1024 * 1024)
    const buf = Buffer.allocUnsafe(1024 * 1024)
    let got = 0
    while (got < size) { const n = Math.min(buf.byteLength, size - got); await reader.readInto(buf.subarray(0, n)); got += n }
    return got
  })
  await node.stop()
  await s.stop()
  return r
}

async function pieces (verify: boolean, dataChannel: DataChannelMode = 'tcp'): Promise<Run> {
  const s = await sender(dataChannel === 'tls' ? 'piece-tls' : 'piece')
  const node = await createNode({ initialStreamWindow })
  await node.start()
  const hasher = createHasher()
  await hasher.start()
  const client = new PieceClient(node, { log: silentLogger(), alloc: allocPieceBuffer, streamsPerParent, dataChannel })
  const count = Math.ceil(size / pieceLength)
  const r = await measure(s.pid, async () => {
    let next = 0
    let got = 0
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++
        const len = Math.min(pieceLength, size - i * pieceLength)
        let buf = await client.fetch({ peerId: s.info.peerId, addrs: s.info.addrs }, s.info.taskId, i, len)
        if (verify) {
          const h = await hasher.hash(buf)
          if (Buffer.from(h.digest).toString('hex') !== s.info.digests[i]) throw new Error(`piece ${i} digest mismatch`)
          buf = h.buf
        }
        // as the download path does once a piece is written
        if (pooled) releasePieceBuffer(buf)
        // hashing moves the buffer to a worker (detaching it here), so count the length asked for
        got += len
      }
    }
    await Promise.all(Array.from({ length: depth }, worker))
    return got
  })
  await client.stop()
  await hasher.stop()
  await node.stop()
  await s.stop()
  return r
}

// `--only stream,piece` runs a subset, e.g. under --cpu-prof
const only = values.only?.split(',')
const none: Run = { MBps: 0, senderBusy: 0, receiverBusy: 0 }
const run = async (name: string, f: () => Promise<Run>): Promise<Run> => only == null || only.includes(name) ? await f() : none
const r = {
  raw: await run('raw', raw),
  stream: await run('stream', stream),
  piece: await run('piece', async () => await pieces(false)),
  verified: await run('verified', async () => await pieces(true)),
  pieceLibp2p: await run('piece-libp2p', async () => await pieces(false, 'off')),
  pieceTls: await run('piece-tls', async () => await pieces(false, 'tls'))
}
const result = {
  scenario: 'transfer',
  fileBytes: size,
  pieceLength,
  senderDirectIo: values['direct-io'],
  depth,
  streamsPerParent,
  rawTcpMBps: r.raw.MBps,
  libp2pStreamMBps: r.stream.MBps,
  pieceProtocolMBps: r.piece.MBps,
  pieceProtocolVerifiedMBps: r.verified.MBps,
  // the same protocol over libp2p streams (Noise + yamux) and over an encrypted (TLS) data channel
  pieceOverLibp2pMBps: r.pieceLibp2p.MBps,
  pieceOverTlsMBps: r.pieceTls.MBps,
  ratioToRaw: r.raw.MBps > 0 ? Math.round(r.piece.MBps / r.raw.MBps * 100) / 100 : null,
  verifiedRatioToRaw: r.raw.MBps > 0 ? Math.round(r.verified.MBps / r.raw.MBps * 100) / 100 : null,
  // CPU seconds per wall second of each side (1.0 = one core saturated)
  busy: Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { sender: v.senderBusy, receiver: v.receiverBusy }]))
}
if (values.json) process.stdout.write(JSON.stringify(result) + '\n')
else console.log(result)
process.exit(0)
