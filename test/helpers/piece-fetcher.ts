// Child process for piece-recycle.spec: fetches every piece of a task from one parent over many
// pipelined streams and checks each against its BLAKE3 digest. Being a separate process lets the
// test SIGSTOP it, so the parent's socket, and then its connection's queue, fill up.
import { createNode } from '@damselfly/task-engine'
import { PieceClient } from '@damselfly/piece-exchange'
import { initBlake3, blake3, silentLogger } from '@damselfly/utils'

const { peerId, addrs, taskId, pieceLength, contentLength, digests, rounds } = JSON.parse(process.argv[2])
await initBlake3()
const node = await createNode({})
await node.start()
const client = new PieceClient(node, { log: silentLogger(), streamsPerParent: 16 })
const count = Math.ceil(contentLength / pieceLength)
const bad: number[] = []
for (let round = 0; round < rounds; round++) {
  let next = 0
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < count) {
      const i = next++
      const len = Math.min(pieceLength, contentLength - i * pieceLength)
      const buf = await client.fetch({ peerId, addrs }, taskId, i, len)
      if (Buffer.from(blake3(buf)).toString('hex') !== digests[i]) bad.push(i)
    }
  }))
  process.stdout.write(JSON.stringify({ round }) + '\n')
}
process.stdout.write(JSON.stringify({ done: true, bad }) + '\n')
await client.stop()
await node.stop()
process.exit(0)
