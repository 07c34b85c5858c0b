// Child process for the transfer benchmark: the sending side, so sender and
// receiver each get their own core as they would on two hosts.
import { createServer } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode, listenAddrs } from '@damselfly/task-engine'
import { PieceServer } from '@damselfly/piece-exchange'
import { PieceStore } from '@damselfly/storage'
import { allocPieceBuffer, releasePieceBuffer } from '@damselfly/hasher'
import { initBlake3, blake3, silentLogger, sendWithBackpressure } from '@damselfly/utils'
import { randomFillSync } from 'node:crypto'

let dataDir: string | undefined
const [mode, sizeArg, pieceArg, windowArg, directIoArg] = process.argv.slice(2)
const size = Number(sizeArg)
const pieceLength = Number(pieceArg)
const chunk = randomFillSync(Buffer.allocUnsafe(1024 * 1024))
await initBlake3()

if (mode === 'raw') {
  const server = createServer((sock) => {
    let sent = 0
    const pump = (): void => {
      while (sent < size) {
        const n = Math.min(chunk.byteLength, size - sent)
        sent += n
        if (!sock.write(n === chunk.byteLength ? chunk : chunk.subarray(0, n))) { sock.once('drain', pump); return }
      }
      sock.end()
    }
    pump()
  })
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: (server.address() as any).port }) + '\n')
  })
} else {
  const node = await createNode({ initialStreamWindow: windowArg != null && windowArg !== '' ? Number(windowArg) : undefined })
  await node.start()
  if (mode === 'stream') {
    await node.handle('/bench/stream/1.0.0', async (stream) => {
      let sent = 0
      while (sent < size) {
        const n = Math.min(chunk.byteLength, size - sent)
        await sendWithBackpressure(stream, n === chunk.byteLength ? chunk : chunk.subarray(0, n))
        sent += n
      }
      await stream.close()
    })
    process.stdout.write(JSON.stringify({ peerId: node.peerId.toString(), addrs: listenAddrs(node) }) + '\n')
  } else {
    dataDir = await mkdtemp(join(tmpdir(), 'dfly-bench-'))
    const store = new PieceStore({ dataDir, directIo: directIoArg === 'direct' })
    await store.start()
    const ts = await store.open('ee'.repeat(32), 'bench://x')
    await ts.initialise(size, pieceLength)
    const buf = Buffer.allocUnsafe(pieceLength)
    const digests: string[] = []
    for (let i = 0; i < ts.pieceCount; i++) {
      const len = Math.min(pieceLength, size - i * pieceLength)
      randomFillSync(buf, 0, len)
      const d = blake3(buf.subarray(0, len))
      digests.push(Buffer.from(d).toString('hex'))
      await ts.writePiece(i, buf.subarray(0, len), d)
    }
    await ts.flush()
    // as a daemon does: pooled buffers, libp2p streams and a data channel (`piece-tls`: an encrypted one)
    const server = new PieceServer(node, { log: silentLogger(), lookup: async () => ts, alloc: allocPieceBuffer, release: releasePieceBuffer, dataChannel: { mode: mode === 'piece-tls' ? 'tls' : 'tcp' } })
    await server.start()
    // what a scheduler would get at registration: `bench connect` makes tickets with it, as the scheduler does
    const offer = server.dataOffer()
    process.stdout.write(JSON.stringify({ peerId: node.peerId.toString(), addrs: listenAddrs(node), taskId: ts.taskId, digests, offer: offer != null ? { ...offer, secret: Buffer.from(offer.secret).toString('hex') } : undefined }) + '\n')
  }
}
// the parent closes our stdin when it is done: remove the piece store with us
process.stdin.on('end', () => { rm(dataDir ?? '', { recursive: true, force: true }).finally(() => process.exit(0)) })
process.stdin.resume()
