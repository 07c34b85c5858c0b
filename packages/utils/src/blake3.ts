import { createRequire } from 'node:module'

/**
 * One-shot BLAKE3 on the calling thread. Native `@napi-rs/blake-hash` when it
 * loads; otherwise `hash-wasm`, which must be initialised once with
 * `initBlake3()` before the first call.
 */
export type Blake3Fn = (data: Uint8Array) => Uint8Array

const require = createRequire(import.meta.url)
let impl: Blake3Fn | undefined
let implName = 'none'

try {
  const native = require('@napi-rs/blake-hash') as { blake3: (d: Uint8Array) => Buffer }
  impl = (d) => native.blake3(d)
  implName = 'native'
} catch {
  impl = undefined
}

export async function initBlake3 (): Promise<void> {
  if (impl != null) return
  const { createBLAKE3 } = await import('hash-wasm')
  const h = await createBLAKE3()
  impl = (d) => { h.init(); h.update(d); return h.digest('binary') }
  implName = 'wasm'
}

export function blake3 (data: Uint8Array): Uint8Array {
  if (impl == null) throw new Error('BLAKE3 is not initialised: call initBlake3() first')
  return impl(data)
}

export function blake3Hex (data: Uint8Array | string): string {
  return Buffer.from(blake3(typeof data === 'string' ? Buffer.from(data) : data)).toString('hex')
}

export function blake3Implementation (): string { return implName }
