import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Swarm } from '@damselfly/scheduler-core'
import { makeTicket, ticketKeyMatches } from '@damselfly/piece-exchange'
import { FakeClock } from '@damselfly/testkit'
import { taskIdFor } from '@damselfly/utils'
import { NO_TASK_KEY_PARTS, type TaskUpdate } from '@damselfly/proto'

const URL = 'https://origin.example/weights.bin'

/**
 * Data channel tickets the scheduler makes: a child opens a data channel to a parent with one,
 * without a libp2p connection to it. The parent gave the scheduler its ticket secret when it
 * registered; nothing but tickets derived from it may leave the scheduler.
 */
describe('data channel tickets in the scheduler\'s plans', () => {
  const secret = randomBytes(32)
  const reg = (seed: boolean, data?: Record<string, unknown>): any => ({ addrs: ['/ip4/10.0.0.7/tcp/4001'], pool: 'p', idc: '', hostname: '', seed, uploadSlots: 8, token: '', tasks: [], ...data })
  const offer = { dataSecret: secret, dataHost: '10.0.0.7', dataPort: 4100, dataPlainPort: 4101, dataTls: false }

  function swarmWith (seedData?: Record<string, unknown>): { swarm: Swarm, clock: FakeClock, updates: TaskUpdate[], taskId: string } {
    const clock = new FakeClock()
    const swarm = new Swarm({ setTimer: clock.setTimer, now: () => clock.now })
    swarm.issueTicket = (s, child, ttl) => makeTicket(s, child, ttl, clock.now)
    const updates: TaskUpdate[] = []
    const taskId = taskIdFor({ url: URL, pieceLength: 4 })
    swarm.register('seed', reg(true, seedData), () => {})
    swarm.register('child', reg(false), (msg: any) => { if (msg.update != null) updates.push(msg.update) })
    swarm.handle('child', { announce: { taskId, url: URL, headers: [], pieceLength: 4, digest: '', ...NO_TASK_KEY_PARTS } } as any)
    swarm.handle('seed', { meta: { taskId, contentLength: 400, pieceLength: 4, url: URL } } as any)
    clock.advance(1000)
    return { swarm, clock, updates, taskId }
  }
  const ticketsIn = (updates: TaskUpdate[]): any[] => updates.flatMap((u) => u.parents.filter((p) => p.peerId === 'seed' && p.ticket != null).map((p) => p.ticket))

  it('should send a child a ticket for its parent, made for that child under the parent\'s secret, and never the secret', () => {
    const { updates, swarm, clock } = swarmWith(offer)
    const [t] = ticketsIn(updates)
    assert.ok(t != null, 'a plan naming the seed carries a ticket for it')
    assert.equal(t.host, '10.0.0.7')
    assert.equal(t.port, 4100)
    assert.equal(t.plainPort, 4101)
    assert.equal(t.tls, false)
    assert.ok(t.expires > clock.now)
    assert.equal(ticketKeyMatches(secret, t.id, t.expires, 'child', t.key), true, 'the parent can check it')
    assert.equal(ticketKeyMatches(secret, t.id, t.expires, 'someone-else', t.key), false, 'it is only good for the child it was made for')
    // the secret is in no message and no view
    // bytes as hex, Buffers included (their toJSON would hide them as number lists)
    const hex = function (this: any, k: string, v: unknown): unknown { const o = this[k]; return o instanceof Uint8Array ? Buffer.from(o).toString('hex') : v }
    const everything = JSON.stringify([updates, swarm.peerList(), [...swarm.tasks.values()].map((x) => swarm.taskView(x))], hex)
    assert.ok(everything.includes(Buffer.from(t.key).toString('hex')), 'the check sees bytes in the messages')
    assert.equal(everything.includes(secret.toString('hex')), false)
  })

  it('should send a fresh ticket only when the last one nears expiry, not with every plan', () => {
    const { updates, swarm, clock, taskId } = swarmWith(offer)
    const first = ticketsIn(updates).length
    assert.equal(first, 1)
    // more plans within the ticket's first half-life: no new ticket
    for (let i = 0; i < 5; i++) {
      swarm.handle('seed', { pieces: { taskId, indexes: [i], digests: [{ index: i, digest: new Uint8Array(32).fill(i) }], parentId: '', costMs: 1 } } as any)
      clock.advance(1000)
    }
    assert.ok(updates.length > 2, `${updates.length} plans`)
    assert.equal(ticketsIn(updates).length, 1)
    // past half its life, the next plan carries a new one
    clock.advance(31_000)
    swarm.handle('seed', { pieces: { taskId, indexes: [9], digests: [{ index: 9, digest: new Uint8Array(32).fill(9) }], parentId: '', costMs: 1 } } as any)
    clock.advance(1000)
    const all = ticketsIn(updates)
    assert.equal(all.length, 2)
    assert.notDeepEqual(all[0].id, all[1].id)
  })

  it('should make no tickets for a parent that offered a host it did not register, a short secret, or nothing', () => {
    for (const data of [{ ...offer, dataHost: '169.254.169.254' }, { ...offer, dataSecret: randomBytes(16) }, { ...offer, dataPort: 0 }, undefined]) {
      const { updates } = swarmWith(data)
      assert.ok(updates.some((u) => u.parents.some((p) => p.peerId === 'seed')), 'the seed is still a parent')
      assert.deepEqual(ticketsIn(updates), [], JSON.stringify(data ?? null))
    }
  })
})
