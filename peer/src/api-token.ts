import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/** The local API's token, beside the pieces: whoever may read the data dir may drive the daemon. */
export const API_TOKEN_FILE = 'api-token'

/** Where a peer daemon keeps its data when not told otherwise. */
export function defaultPeerDataDir (): string {
  return resolve(homedir(), '.damselfly', 'peer')
}

/** The token in `<dataDir>/api-token`, or undefined when there is none or it cannot be read. */
export async function readApiToken (dataDir: string): Promise<string | undefined> {
  try {
    const t = (await readFile(join(dataDir, API_TOKEN_FILE), 'utf8')).trim()
    return t === '' ? undefined : t
  } catch { return undefined }
}

/**
 * The token of a daemon's local API: made once, on first start, readable by the daemon's
 * user alone (0600, reset at every start in case it was loosened), kept across restarts so
 * clients holding it keep working.
 */
export async function ensureApiToken (dataDir: string): Promise<string> {
  await mkdir(dataDir, { recursive: true })
  const path = join(dataDir, API_TOKEN_FILE)
  const token = randomBytes(32).toString('hex')
  try {
    await writeFile(path, token + '\n', { mode: 0o600, flag: 'wx' })
    return token
  } catch (err: any) {
    if (err?.code !== 'EEXIST') throw err
  }
  await chmod(path, 0o600)
  const existing = await readApiToken(dataDir)
  if (existing == null) throw new Error(`${path} is empty: remove it and a new token is made at start`)
  return existing
}
