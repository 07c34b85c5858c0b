import assert from 'node:assert/strict'
import { taskIdFor, filterQuery, initBlake3, Bitfield } from '@damselfly/utils'

describe('task id', () => {
  before(async () => { await initBlake3() })

  it('should be 64 hex chars and stable', () => {
    const a = taskIdFor({ url: 'http://o/x' })
    assert.match(a, /^[0-9a-f]{64}$/)
    assert.equal(a, taskIdFor({ url: 'http://o/x' }))
  })

  it('should ignore filtered query params', () => {
    const a = taskIdFor({ url: 'http://o/x?sig=1&v=2', filteredQueryParams: ['sig'] })
    const b = taskIdFor({ url: 'http://o/x?sig=999&v=2', filteredQueryParams: ['sig'] })
    const c = taskIdFor({ url: 'http://o/x?sig=1&v=3', filteredQueryParams: ['sig'] })
    assert.equal(a, b)
    assert.notEqual(a, c)
  })

  it('should separate tasks by tag, application, piece length and range', () => {
    const base = taskIdFor({ url: 'http://o/x' })
    assert.notEqual(base, taskIdFor({ url: 'http://o/x', tag: 't' }))
    assert.notEqual(base, taskIdFor({ url: 'http://o/x', application: 'a' }))
    assert.notEqual(base, taskIdFor({ url: 'http://o/x', pieceLength: 8 << 20 }))
    assert.notEqual(base, taskIdFor({ url: 'http://o/x', range: '0-9' }))
  })

  it('should derive from the content digest when known, whatever the URL', () => {
    const d = 'sha256:' + 'ab'.repeat(32)
    assert.equal(taskIdFor({ url: 'http://a/x', digest: d }), taskIdFor({ url: 'http://b/y?z=1', digest: d.toUpperCase().replace('SHA256', 'sha256') }))
    assert.notEqual(taskIdFor({ url: 'http://a/x', digest: d }), taskIdFor({ url: 'http://a/x' }))
  })

  it('should reject a digest without an algorithm', () => {
    assert.throws(() => taskIdFor({ url: 'http://a', digest: 'abc' }), /algorithm/)
  })

  it('should leave unparseable URLs alone when filtering', () => {
    assert.equal(filterQuery('not a url', ['x']), 'not a url')
  })
})

describe('bitfield', () => {
  it('should set, count and serialise MSB first', () => {
    const b = new Bitfield(10)
    assert.equal(b.set(0), true)
    assert.equal(b.set(0), false)
    b.set(9)
    assert.equal(b.cardinality, 2)
    assert.deepEqual([...b.bytes], [0x80, 0x40])
    assert.deepEqual([...b.indexes()], [0, 9])
  })

  it('should ignore bits past its size in a received field', () => {
    const b = new Bitfield(10, Uint8Array.from([0xff, 0xff, 0xff]))
    assert.equal(b.cardinality, 10)
    assert.equal(b.complete, true)
    assert.equal(b.get(10), false)
  })

  it('should tell whether it has pieces another lacks', () => {
    const a = new Bitfield(16); a.set(3)
    const b = new Bitfield(16); b.set(3)
    assert.equal(a.hasAnyMissingIn(b), false)
    a.set(12)
    assert.equal(a.hasAnyMissingIn(b), true)
  })
})
