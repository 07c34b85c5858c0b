import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { InvalidRequestError } from '@damselfly/types'
import type { Backend, GetOptions, GetResult, ObjectStat } from '@damselfly/types'

/**
 * The "origin" of a cache import: one local file, bound to the task being
 * imported (never chosen by URL scheme, so no request can make a peer read
 * its files), fed to the same fetchFromSource a seed uses for an origin.
 */
export function localFileBackend (path: string): Backend {
  return {
    schemes: [],
    async stat (): Promise<ObjectStat> {
      const s = await stat(path).catch((err: NodeJS.ErrnoException) => { throw new InvalidRequestError(`cannot read ${path}: ${err.code ?? err.message}`) })
      if (!s.isFile()) throw new InvalidRequestError(`${path} is not a regular file`)
      return { contentLength: s.size, headers: {}, supportsRange: true }
    },
    async get (_url: string, _headers: Record<string, string>, options: GetOptions): Promise<GetResult> {
      const start = options.start ?? 0
      const size = (await stat(path)).size
      const end = Math.min(options.end ?? size - 1, size - 1)
      return { status: 206, start, contentLength: end - start + 1, headers: {}, body: createReadStream(path, { start, end, signal: options.signal, highWaterMark: 1024 * 1024 }) }
    }
  }
}
