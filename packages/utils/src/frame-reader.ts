import { Uint8ArrayList } from 'uint8arraylist'
import { MessageTooLargeError, ProtocolError } from '@damselfly/types'
import type { Stream } from '@libp2p/interface'

/**
 * Reads varint-length-prefixed frames and raw byte runs from a libp2p stream.
 *
 * libp2p 3 streams push 'message' events; we buffer at most `highWaterMark`
 * bytes and pause the stream beyond that, so a fast sender cannot make us
 * buffer without bound. Raw runs (piece bodies) are copied straight into the
 * caller's buffer, never accumulated.
 */
export class FrameReader {
  private readonly buf = new Uint8ArrayList()
  private waiter?: () => void
  private ended = false
  private error?: Error
  private sink?: { target: Uint8Array, filled: number, done: () => void }

  constructor (private readonly stream: Stream, private readonly highWaterMark = 8 * 1024 * 1024) {
    stream.addEventListener('message', (evt) => { this.onData(evt.data) })
    stream.addEventListener('close', (evt) => {
      this.ended = true
      if (evt.error != null) this.error = evt.error
      this.wake()
    })
    stream.addEventListener('remoteCloseWrite', () => { this.ended = true; this.wake() })
  }

  private onData (data: Uint8Array | Uint8ArrayList): void {
    const sink = this.sink
    if (sink != null && this.buf.byteLength === 0) {
      // fast path: copy into the destination without touching the list
      const want = sink.target.byteLength - sink.filled
      const chunks = data instanceof Uint8Array ? [data] : [...data]
      let i = 0
      for (; i < chunks.length && sink.filled < sink.target.byteLength; i++) {
        const c = chunks[i]
        const n = Math.min(c.byteLength, sink.target.byteLength - sink.filled)
        sink.target.set(n === c.byteLength ? c : c.subarray(0, n), sink.filled)
        sink.filled += n
        if (n < c.byteLength) this.buf.append(c.subarray(n))
      }
      for (; i < chunks.length; i++) this.buf.append(chunks[i])
      if (want > 0 && sink.filled === sink.target.byteLength) { this.sink = undefined; sink.done() }
    } else {
      this.buf.append(data)
    }
    if (this.buf.byteLength > this.highWaterMark && this.stream.readStatus === 'readable') this.stream.pause()
    this.wake()
  }

  private wake (): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }

  private async waitForData (): Promise<void> {
    if (this.error != null) throw this.error
    if (this.ended) throw new ProtocolError('stream ended')
    // wait first, then resume: resuming may deliver buffered messages at once, and their wake-up must not be lost
    const woken = new Promise<void>((resolve) => { this.waiter = resolve })
    if (this.stream.readStatus === 'paused') this.stream.resume()
    await woken
  }

  /** Next frame, or undefined when the stream ended cleanly between frames. */
  async readFrame (maxLength: number): Promise<Uint8ArrayList | undefined> {
    while (true) {
      const header = decodeVarint(this.buf)
      if (header === 'invalid') throw new ProtocolError('invalid length prefix')
      if (header != null) {
        if (header.value > maxLength) throw new MessageTooLargeError(`frame of ${header.value} bytes exceeds ${maxLength}`)
        if (this.buf.byteLength >= header.bytes + header.value) {
          const frame = this.buf.sublist(header.bytes, header.bytes + header.value)
          this.buf.consume(header.bytes + header.value)
          return frame
        }
      }
      if (this.ended && this.buf.byteLength === 0 && this.error == null) return undefined
      await this.waitForData()
    }
  }

  /** Fills `target` completely with the next bytes of the stream. */
  async readInto (target: Uint8Array): Promise<void> {
    const fromBuf = Math.min(this.buf.byteLength, target.byteLength)
    let filled = 0
    if (fromBuf > 0) {
      for (const c of this.buf.sublist(0, fromBuf)) { target.set(c, filled); filled += c.byteLength }
      this.buf.consume(fromBuf)
    }
    if (filled === target.byteLength) return
    const done = new Promise<void>((resolve) => { this.sink = { target, filled, done: resolve } })
    while (this.sink != null) {
      await Promise.race([done, this.waitForData()])
    }
  }
}

/** Reads an unsigned LEB128 varint from the front of `buf` without consuming it. */
function decodeVarint (buf: Uint8ArrayList): { value: number, bytes: number } | undefined | 'invalid' {
  let value = 0
  let shift = 0
  for (let i = 0; i < buf.byteLength; i++) {
    const b = buf.get(i)
    value += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) return { value, bytes: i + 1 }
    shift += 7
    if (shift > 35) return 'invalid'
  }
  return undefined
}

export function encodeVarint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80) }
  out.push(n)
  return Uint8Array.from(out)
}

/** varint length prefix + payload as one list (no copy of the payload) */
export function lengthPrefixed (payload: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(encodeVarint(payload.byteLength), payload)
}
