import assert from 'node:assert/strict'
import { Swarm } from '@damselfly/scheduler-core'
import { taskIdFor } from '@damselfly/utils'
import { NO_TASK_KEY_PARTS } from '@damselfly/proto'

const reg = (seed: boolean): any => ({ addrs: [], pool: 'p', idc: '', hostname: '', seed, uploadSlots: 4, token: '', tasks: [] })
const meta = (taskId: string, contentLength: number): any => ({ meta: { taskId, contentLength, pieceLength: 4, url: 'cache://model' } })
const pieces = (taskId: string, indexes: number[], fill: number): any => ({ pieces: { taskId, indexes, digests: indexes.map((index) => ({ index, digest: new Uint8Array(32).fill(fill) })), parentId: '', costMs: 0 } })

describe('the scheduler and cache imports', () => {
  it('should take an imported manifest only with --allow-import, making the importer that task\'s seed', () => {
    for (const allowImport of [false, true]) {
      const swarm = new Swarm({ setTimer: () => undefined, allowImport })
      swarm.register('importer', reg(false), () => {})
      swarm.handle('importer', meta('t1', 10))
      swarm.handle('importer', pieces('t1', [0, 1, 2], 1))
      const task = swarm.tasks.get('t1')
      if (!allowImport) { assert.equal(task, undefined, 'a normal peer cannot publish a manifest'); continue }
      assert.equal(task?.contentLength, 10)
      assert.equal(task?.seedPeer, 'importer')
      assert.equal(task?.manifestLog.length, 3)
    }
  })

  it('should not let a second peer rewrite an imported manifest, nor claim a task a seed is fetching', () => {
    const swarm = new Swarm({ setTimer: () => undefined, allowImport: true })
    for (const id of ['importer', 'other']) swarm.register(id, reg(false), () => {})
    swarm.register('seed', reg(true), () => {})
    swarm.handle('importer', meta('t1', 10))
    swarm.handle('importer', pieces('t1', [0, 1, 2], 1))
    swarm.handle('other', meta('t1', 99))
    swarm.handle('other', pieces('t1', [0], 2))
    const t1 = swarm.tasks.get('t1')!
    assert.equal(t1.contentLength, 10)
    assert.deepEqual([...t1.manifest[0]!], new Array(32).fill(1))
    // a task someone asked for goes to the seed; an importer arriving later is not trusted for it
    // (the scheduler recomputes an announced task id from its request: a real one)
    const t2 = taskIdFor({ url: 'https://origin.example/f', pieceLength: 4 })
    swarm.handle('other', { announce: { taskId: t2, url: 'https://origin.example/f', headers: [], pieceLength: 4, digest: '', ...NO_TASK_KEY_PARTS } } as any)
    assert.equal(swarm.tasks.get(t2)?.seedPeer, 'seed')
    swarm.handle('importer', meta(t2, 10))
    swarm.handle('importer', pieces(t2, [0], 3))
    assert.equal(swarm.tasks.get(t2)?.contentLength, -1)
    assert.equal(swarm.tasks.get(t2)?.manifestLog.length, 0)
  })
})
