import assert from 'node:assert/strict'
import { Swarm } from '@damselfly/scheduler-core'
import { FakeClock } from '@damselfly/testkit'
import { taskIdFor } from '@damselfly/utils'
import { NO_TASK_KEY_PARTS } from '@damselfly/proto'

const reg = (seed: boolean): any => ({ addrs: ['/ip4/127.0.0.1/tcp/1'], pool: 'p', idc: '', hostname: '', seed, uploadSlots: 4, token: '', tasks: [] })
const digest = new Uint8Array(32).fill(7)
const URL = 'https://origin.example/model.bin'
const PIECES = 100

/**
 * A seed feeding a task from the origin, two peers waiting for it: how often do their plans come?
 * Every plan is a libp2p message on both ends, so while the origin paces the swarm they are
 * gathered; once the manifest is complete the tail decides the finish and they go out at once.
 */
describe('the scheduler\'s plan pacing', () => {
  const clock = new FakeClock()
  const plans = new Map<string, number[]>()
  const swarm = new Swarm({ setTimer: clock.setTimer, now: () => clock.now })
  const taskId = taskIdFor({ url: URL, pieceLength: 4 })
  const report = (from: string, indexes: number[], parentId = ''): void => {
    swarm.handle(from, { pieces: { taskId, indexes, digests: from === 'seed' ? indexes.map((index) => ({ index, digest })) : [], parentId, costMs: 1 } } as any)
  }
  const plansOf = (peer: string, from: number, to = Infinity): number => (plans.get(peer) ?? []).filter((t) => t >= from && t < to).length

  before(() => {
    for (const [id, seed] of [['seed', true], ['a', false], ['b', false]] as const) {
      plans.set(id, [])
      swarm.register(id, reg(seed), (msg: any) => { if (msg.update != null) plans.get(id)!.push(clock.now) })
    }
    for (const id of ['a', 'b']) swarm.handle(id, { announce: { taskId, url: URL, headers: [], pieceLength: 4, digest: '', ...NO_TASK_KEY_PARTS } } as any)
    swarm.handle('seed', { meta: { taskId, contentLength: PIECES * 4, pieceLength: 4, url: URL } } as any)
    clock.advance(1000)
  })

  it('should gather piece progress into a plan every 200 ms while the origin still feeds the task', () => {
    const from = clock.now
    // the seed reads a piece from the origin every 10 ms, for a second
    for (let i = 0; i < 100 - 1; i++) {
      if (i % 2 === 0) report('seed', [i / 2])
      else report('a', [(i - 1) / 2], 'seed')
      clock.advance(10)
    }
    clock.advance(10)
    for (const peer of ['a', 'b']) {
      const n = plansOf(peer, from)
      // every 50 ms (the least flush interval) would be 20: paced, 5 or 6
      assert.ok(n >= 4 && n <= 6, `${peer} got ${n} plans in a second`)
    }
    assert.equal(swarm.tasks.get(taskId)!.manifestLog.length, 50)
  })

  it('should send progress within the flush interval once the manifest is complete', () => {
    clock.advance(1000)
    const done = clock.now
    report('seed', Array.from({ length: PIECES - 50 }, (_, k) => 50 + k))
    clock.advance(50)
    assert.ok(plansOf('a', done) >= 1 && plansOf('b', done) >= 1, 'the completed manifest reached both peers within 50 ms')
    const later = clock.now + 100
    clock.advance(100)
    report('a', [60], 'seed')
    clock.advance(50)
    assert.equal(plansOf('b', later), 1, 'a piece reported after the origin is done reaches the others within 50 ms')
    assert.equal(plansOf('a', later), 0, 'and the reporter is not sent its own news')
  })
})
