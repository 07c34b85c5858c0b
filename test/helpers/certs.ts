import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

export interface SelfSigned { certPath: string, keyPath: string, cert: string, key: string }

/**
 * A throwaway self-signed certificate for 127.0.0.1 (node:crypto cannot make certificates; the openssl
 * CLI can). `extraNames` adds DNS names (e.g. `127.1`, loopback spelled so Go clients still use a proxy).
 */
export async function selfSigned (dir: string, name = 'server', extraNames: string[] = []): Promise<SelfSigned> {
  const certPath = join(dir, `${name}.crt`)
  const keyPath = join(dir, `${name}.key`)
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '1',
    '-keyout', keyPath, '-out', certPath, '-subj', '/CN=127.0.0.1',
    '-addext', `subjectAltName=${['IP:127.0.0.1', 'DNS:localhost', ...extraNames.map((n) => `DNS:${n}`)].join(',')}`
  ])
  return { certPath, keyPath, cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') }
}
