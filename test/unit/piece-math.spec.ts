import assert from 'node:assert/strict'
import { pieceLengthFor, pieceCount, pieceRange, parseRange, piecesCovering, MIN_PIECE_LENGTH, PREFERRED_MAX_PIECE_LENGTH, MAX_PIECE_LENGTH } from '@damselfly/utils'

describe('piece math', () => {
  it('should clamp small files to the 4 MiB minimum piece length', () => {
    assert.equal(pieceLengthFor(1), MIN_PIECE_LENGTH)
    assert.equal(pieceLengthFor(128 * 1024 * 1024), MIN_PIECE_LENGTH)
    assert.equal(pieceLengthFor(-1), MIN_PIECE_LENGTH)
  })

  it('should use the next power of two of size/32 between 4 and 16 MiB', () => {
    // exactly 32 pieces of 8 MiB
    assert.equal(pieceLengthFor(32 * 8 * 1024 * 1024), 8 * 1024 * 1024)
    // one byte more needs the next power of two
    assert.equal(pieceLengthFor(32 * 8 * 1024 * 1024 + 1), 16 * 1024 * 1024)
    // 1 GiB and 10 GiB: 16 MiB, the preferred maximum
    assert.equal(pieceLengthFor(1024 ** 3), PREFERRED_MAX_PIECE_LENGTH)
    assert.equal(pieceLengthFor(10 * 1024 ** 3), PREFERRED_MAX_PIECE_LENGTH)
  })

  it('should grow pieces past 4096 of 16 MiB, up to the 64 MiB maximum', () => {
    // 64 GiB: 4096 pieces of 16 MiB; one byte more: 32 MiB pieces
    assert.equal(pieceLengthFor(64 * 1024 ** 3), PREFERRED_MAX_PIECE_LENGTH)
    assert.equal(pieceLengthFor(64 * 1024 ** 3 + 1), 32 * 1024 * 1024)
    assert.equal(pieceLengthFor(1024 ** 4), MAX_PIECE_LENGTH)
  })

  it('should count pieces and size the last one', () => {
    assert.equal(pieceCount(10, 4), 3)
    assert.equal(pieceCount(0, 4), 0)
    assert.deepEqual(pieceRange(2, 10, 4), { index: 2, offset: 8, length: 2 })
    assert.throws(() => pieceRange(3, 10, 4), RangeError)
  })

  it('should parse HTTP ranges against a length', () => {
    assert.deepEqual(parseRange('bytes=0-0', 100), { start: 0, end: 0 })
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 })
    assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 })
    assert.deepEqual(parseRange('bytes=10-1000', 100), { start: 10, end: 99 })
    assert.equal(parseRange('bytes=100-', 100), undefined)
    assert.equal(parseRange('bytes=5-1', 100), undefined)
    assert.equal(parseRange('items=1-2', 100), undefined)
  })

  it('should find the pieces covering a byte range', () => {
    assert.deepEqual(piecesCovering(3, 9, 4), { first: 0, last: 2 })
    assert.deepEqual(piecesCovering(4, 7, 4), { first: 1, last: 1 })
  })
})
