import assert from 'node:assert/strict'
import { UploadBudget } from '@damselfly/piece-exchange'
import { allocPieceBuffer, releasePieceBuffer } from '@damselfly/hasher'

describe('memory bounds on the piece path', () => {
  it('should hold uploads back once the budget is spent and let them through in order', async () => {
    const budget = new UploadBudget(8)
    const order: string[] = []
    await budget.acquire(4)
    await budget.acquire(4)
    const third = budget.acquire(4).then(() => order.push('third'))
    const fourth = budget.acquire(2).then(() => order.push('fourth'))
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(order, [], 'nothing fits while 8 of 8 bytes are held')
    budget.release(4)
    await third
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(order, ['third'], 'the smaller request does not jump the queue past the budget')
    budget.release(4)
    await fourth
    assert.deepEqual(order, ['third', 'fourth'])
  })

  it('should let a piece larger than the whole budget through when nothing else is held', async () => {
    const budget = new UploadBudget(8)
    await budget.acquire(64)
    let second = false
    const p = budget.acquire(1).then(() => { second = true })
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(second, false)
    budget.release(64)
    await p
    assert.equal(second, true)
  })

  it('should reuse a released piece buffer and ignore views it does not own', () => {
    const a = allocPieceBuffer(1 << 20)
    releasePieceBuffer(a)
    assert.equal(allocPieceBuffer(1 << 20), a)
    const view = allocPieceBuffer(2 << 20).subarray(0, 1 << 20)
    releasePieceBuffer(view)
    assert.notEqual(allocPieceBuffer(1 << 20).buffer, view.buffer)
  })
})
