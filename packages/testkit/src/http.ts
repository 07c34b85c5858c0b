import { request } from 'undici'
import { sha256File } from './files.js'

export async function fetchJson<T> (url: string): Promise<T> {
  const res = await request(url)
  return await res.body.json() as T
}

/** True when every file has the given sha256. */
export async function allMatch (files: string[], sha256: string): Promise<boolean> {
  const sums = await Promise.all(files.map(async (f) => await sha256File(f).catch(() => '')))
  return sums.every((s) => s === sha256)
}
