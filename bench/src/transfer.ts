// `npm run bench -- transfer [--json] [--quick]`: one receiver pulls a file
// from one sender over raw TCP, a plain libp2p stream and our piece protocol,
// in the same run, sender in a child process.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { connect } from 'node:net'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode } from '@damselfly/task-engine'
import { PieceClient } from '@damselfly/piece-exchange'
import { createHasher, allocPieceBuffer } from '@damselfly/hasher'
import { initBlake3, silentLogger, FrameReader } from '@damselfly/utils'

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false }, size: { type: 'string' }, depth: { type: 'string', default: '4' } } })
const size = Number(values.size ?? (values.quick ? 64 : 512) * 1024 * 1024)
const pieceLength = 4 * 1024 * 1024
const depth = Number(values.depth)
await initBlake3()

async function sender (mode: string): Promise<{ info: any, stop: () => void }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./transfer-server.js', import.meta.url)), mode, String(size), String(pieceLength)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve))
  return { info: JSON.parse(line), stop: () => { child.stdin!.end(); setTimeout(() => child.kill(), 2000).unref() } }
}

const mbps = (bytes: number, ms: number): number => Math.round(bytes / 1e6 / (ms / 1000))

async function raw (): Promise<number> {
  const s = await sender('raw')
  const t0 = performance.now()
  let got = 0
  await new Promise<void>((resolve, reject) => {
    const sock = connect(s.info.port, '127.0.0.1')
    sock.on('data', (d) => { got += d.byteLength })
    sock.on('end', resolve)
    sock.on('error', reject)
  })
  const ms = performance.now() - t0
  s.stop()
  if (got !== size) throw new Error(`raw got ${got}`)
  return mbps(got, ms)
}

async function stream (): Promise<number> {
  const s = await sender('stream')
  const node = await createNode({})
  await node.start()
  const t0 = performance.now()
  const st = await node.dialProtocol(s.info.addrs.map((a: string) => multiaddr(a)), '/bench/stream/1.0.0')
  st.maxReadBufferLength = 64 * 1024 * 1024
  const reader = new FrameReader(st, 64 * 1024 * 1024)
  const buf = Buffer.allocUnsafe(1024 * 1024)
  let got = 0
  while (got < size) { const n = Math.min(buf.byteLength, size - got); await reader.readInto(buf.subarray(0, n)); got += n }
  const ms = performance.now() - t0
  await node.stop()
  s.stop()
  return mbps(got, ms)
}

async function pieces (verify: boolean): Promise<number> {
  const s = await sender('piece')
  const node = await createNode({})
  await node.start()
  const hasher = createHasher()
  await hasher.start()
  const client = new PieceClient(node, { log: silentLogger(), alloc: allocPieceBuffer })
  const count = Math.ceil(size / pieceLength)
  const t0 = performance.now()
  let next = 0
  let got = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      const len = Math.min(pieceLength, size - i * pieceLength)
      const buf = await client.fetch({ peerId: s.info.peerId, addrs: s.info.addrs }, s.info.taskId, i, len)
      if (verify) {
        const { digest } = await hasher.hash(buf)
        if (Buffer.from(digest).toString('hex') !== s.info.digests[i]) throw new Error(`piece ${i} digest mismatch`)
      }
      got += buf.byteLength
    }
  }
  await Promise.all(Array.from({ length: depth }, worker))
  const ms = performance.now() - t0
  await client.stop()
  await hasher.stop()
  await node.stop()
  s.stop()
  return mbps(got, ms)
}

const result = {
  scenario: 'transfer',
  fileBytes: size,
  pieceLength,
  depth,
  rawTcpMBps: await raw(),
  libp2pStreamMBps: await stream(),
  pieceProtocolMBps: await pieces(false),
  pieceProtocolVerifiedMBps: await pieces(true),
  ratioToRaw: 0
}
result.ratioToRaw = Math.round(result.pieceProtocolMBps / result.rawTcpMBps * 100) / 100
if (values.json) process.stdout.write(JSON.stringify(result) + '\n')
else console.table(result)
process.exit(0)
