import assert from 'node:assert/strict'
import { Bitfield } from '@damselfly/utils'
import { pickPiece, type PickParent, type PickState } from '@damselfly/task-engine'

const N = 8

function has (...indexes: number[]): Bitfield {
  const b = new Bitfield(N)
  for (const i of indexes) b.set(i)
  return b
}

function parent (peerId: string, pieces: number[], crossPool = false): PickParent {
  return { peerId, have: has(...pieces), crossPool, blocked: false }
}

/** a download with nothing stored, every digest known, nothing in flight */
function state (parents: PickParent[], over: Partial<PickState> = {}): PickState {
  return { hasPiece: () => false, verifiable: () => true, inflight: new Map(), remaining: N, parents, random: () => 0.99, ...over }
}

describe('piece selection (pickPiece)', () => {
  it('should pick the rarest piece the parent has, by the scheduler\'s availability when given', () => {
    const a = parent('a', [0, 1, 2, 3])
    const b = parent('b', [0, 1, 2])
    const c = parent('c', [0, 1])
    // counted among the parents: piece 3 is held by one, 2 by two, 0 and 1 by three
    assert.equal(pickPiece(a, state([a, b, c])), 3)
    // the swarm-wide view wins over the local count
    const availability = Uint8Array.from([1, 9, 9, 9, 0, 0, 0, 0])
    assert.equal(pickPiece(a, state([a, b, c], { availability })), 0)
  })

  it('should skip what is stored, what cannot be verified yet and what is in flight', () => {
    const a = parent('a', [0, 1, 2, 3])
    const inflight = new Map([[3, [{ parent: 'b' }]]])
    const s = state([a], { hasPiece: (i) => i === 0, verifiable: (i) => i !== 1, inflight })
    assert.equal(pickPiece(a, s), 2)
    assert.equal(pickPiece(a, { ...s, verifiable: (i) => i !== 1 && i !== 2 }), -1, 'only an in-flight piece is left, and this is no endgame')
  })

  it('should break ties at random so children spread over the pieces', () => {
    const a = parent('a', [4, 5, 6])
    const picked = new Set<number>()
    for (const r of [0, 0.3, 0.45, 0.6, 0.99]) {
      let calls = 0
      // each tie is taken with probability 1/k: a fixed draw sequence decides
      picked.add(pickPiece(a, state([a], { random: () => (calls++ === 0 ? r : 0.99) })))
    }
    assert.ok(picked.size > 1, `always piece ${[...picked][0]}`)
    for (const i of picked) assert.ok([4, 5, 6].includes(i))
  })

  it('should race a second parent in endgame, never the same one twice, and only once everything left is in flight', () => {
    const a = parent('a', [7])
    const b = parent('b', [7])
    const inflight = new Map([[7, [{ parent: 'a' }]]])
    assert.equal(pickPiece(b, state([a, b], { inflight, remaining: 1 })), 7)
    assert.equal(pickPiece(a, state([a, b], { inflight, remaining: 1 })), -1, 'the parent already asked')
    assert.equal(pickPiece(b, state([a, b], { inflight, remaining: 2 })), -1, 'a piece is left that nobody is fetching: not endgame yet')
    const two = new Map([[7, [{ parent: 'a' }, { parent: 'c' }]]])
    assert.equal(pickPiece(b, state([a, b], { inflight: two, remaining: 1 })), -1, 'two copies in flight already')
  })

  it('should never take across the WAN what a member of its own pool holds, nor race the endgame there', () => {
    const remote = parent('seed', [0, 1, 2], true)
    const local = parent('pool-mate', [0, 1])
    assert.equal(pickPiece(remote, state([remote, local])), 2)
    local.blocked = true
    assert.notEqual(pickPiece(remote, state([remote, local])), -1, 'a blocked pool member holds nothing for us')
    const inflight = new Map([[2, [{ parent: 'pool-mate' }]]])
    assert.equal(pickPiece(parent('seed', [2], true), state([local], { inflight, remaining: 1 })), -1)
  })
})
