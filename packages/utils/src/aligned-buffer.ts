/** alignment O_DIRECT needs for buffer addresses, file offsets and lengths (a page covers every block size) */
export const DIRECT_IO_ALIGNMENT = 4096

const WASM_PAGE = 64 * 1024
// the lib this project compiles against has no WebAssembly types; this is all we use of it
const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number, maximum: number, shared: boolean }) => { buffer: SharedArrayBuffer } } }).WebAssembly
/** page-aligned memories, and the length each was allocated for */
const aligned = new WeakMap<SharedArrayBuffer, number>()

/**
 * A page-aligned buffer of `length` bytes, so the disk can take it with
 * O_DIRECT. JavaScript cannot ask for an address, but a shared WebAssembly
 * memory is mapped on its own pages: its base is page-aligned, and being
 * shared it can go to a hashing worker without being moved.
 */
export function allocAligned (length: number): Buffer {
  const pages = Math.max(1, Math.ceil(length / WASM_PAGE))
  const sab = new Memory({ initial: pages, maximum: pages, shared: true }).buffer
  aligned.set(sab, length)
  return Buffer.from(sab, 0, length)
}

/**
 * How many bytes from `buf`'s start O_DIRECT may use (its memory runs on to
 * the end of its page), or undefined when `buf` is not page-aligned.
 */
export function alignedCapacity (buf: Uint8Array): number | undefined {
  const sab = buf.buffer
  if (!(sab instanceof SharedArrayBuffer) || !aligned.has(sab) || buf.byteOffset % DIRECT_IO_ALIGNMENT !== 0) return undefined
  return sab.byteLength - buf.byteOffset
}

/** Whether `buf` is exactly a buffer allocAligned() returned (not a view into one). */
export function isAlignedAllocation (buf: Uint8Array): boolean {
  return buf.byteOffset === 0 && buf.buffer instanceof SharedArrayBuffer && aligned.get(buf.buffer) === buf.byteLength
}

export function roundUpToAlignment (n: number): number {
  return Math.ceil(n / DIRECT_IO_ALIGNMENT) * DIRECT_IO_ALIGNMENT
}
