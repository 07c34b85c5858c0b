import type { Download } from './download.js'

/**
 * Resolves once `ready()` holds for a running download, re-checking on the
 * given events; rejects when the download fails or the caller gives up.
 * Lets a client stream a task while its pieces are still arriving.
 */
async function until (d: Download, event: 'meta' | 'progress', ready: () => boolean, signal?: AbortSignal): Promise<void> {
  if (ready()) return
  signal?.throwIfAborted()
  const { promise, resolve, reject } = Promise.withResolvers<void>()
  const check = (): void => { if (ready()) resolve() }
  const onAbort = (): void => { reject(signal!.reason) }
  d.on(event, check)
  signal?.addEventListener('abort', onAbort, { once: true })
  // a finished download either satisfied the wait or never will
  d.finished.then(() => {
    if (ready()) resolve()
    else reject(new Error(`task ${d.taskId} finished without what was waited for`))
  }, reject)
  try {
    await promise
  } finally {
    d.off(event, check)
    signal?.removeEventListener('abort', onAbort)
  }
}

/** Waits until the task's content length and piece length are known. */
export async function waitForMeta (d: Download, signal?: AbortSignal): Promise<void> {
  await until(d, 'meta', () => d.store.initialised, signal)
}

/** Waits until piece `index` is verified and stored. */
export async function waitForPiece (d: Download, index: number, signal?: AbortSignal): Promise<void> {
  await until(d, 'progress', () => d.store.hasPiece(index), signal)
}
