/** Settles as `p` does, or rejects with `onTimeout()` after `ms` (no limit when `ms` is unset or ≤ 0); `p` itself goes on. */
export async function withTimeout<T> (p: Promise<T>, ms: number | undefined, onTimeout: () => Error): Promise<T> {
  if (ms == null || ms <= 0) return await p
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(onTimeout()) }, ms)
    })])
  } finally {
    clearTimeout(timer)
  }
}
