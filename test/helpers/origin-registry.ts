import { spawn, type ChildProcess } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:http'
import { createHash, createSign, randomBytes, X509Certificate } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Agent, request } from 'undici'
import { freePort, stopProcess, waitFor } from './clients.js'

export interface RegistryInit {
  dir: string
  /** token auth: the realm, service, issuer and the certificate that signs tokens */
  token?: { realm: string, service: string, issuer: string, certPath: string }
  /** basic auth: path of an htpasswd file (bcrypt) */
  htpasswd?: string
  /** serve HTTPS with this certificate (e.g. from certs.ts `selfSigned`); the readiness probe trusts it */
  tls?: { certPath: string, keyPath: string, cert: string }
}

/**
 * Debian's docker-registry (distribution 2.8) on a free loopback port, its
 * storage in a temp dir. Its access log is kept to count the requests it served.
 */
export class Registry {
  private child?: ChildProcess
  readonly log: string[] = []
  url = ''
  host = ''

  constructor (private readonly init: RegistryInit) {}

  get port (): number { return Number(this.host.split(':')[1]) }

  async start (): Promise<void> {
    await mkdir(this.init.dir, { recursive: true })
    const port = await freePort()
    this.host = `127.0.0.1:${port}`
    const tls = this.init.tls
    this.url = `${tls != null ? 'https' : 'http'}://${this.host}`
    const t = this.init.token
    const config = [
      'version: 0.1',
      'log:', '  level: info', '  accesslog:', '    disabled: false',
      'storage:', `  filesystem:`, `    rootdirectory: ${join(this.init.dir, 'storage')}`, '  delete:', '    enabled: true',
      'http:', `  addr: ${this.host}`,
      ...(tls != null ? ['  tls:', `    certificate: ${tls.certPath}`, `    key: ${tls.keyPath}`] : []),
      ...(t != null ? ['auth:', '  token:', `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.certPath}`] : []),
      ...(this.init.htpasswd != null ? ['auth:', '  htpasswd:', '    realm: damselfly-test', `    path: ${this.init.htpasswd}`] : [])
    ].join('\n') + '\n'
    const path = join(this.init.dir, 'config.yml')
    await writeFile(path, config)
    this.child = spawn('docker-registry', ['serve', path], { stdio: ['ignore', 'pipe', 'pipe'] })
    for (const s of [this.child.stdout!, this.child.stderr!]) createInterface({ input: s }).on('line', (l) => this.log.push(l))
    const child = this.child
    const dispatcher = tls != null ? new Agent({ connect: { ca: tls.cert } }) : undefined
    await waitFor(`docker-registry (${this.log.slice(-5).join('\n')})`, async () => {
      if (child.exitCode != null) throw new Error(`docker-registry exited: ${this.log.slice(-5).join('\n')}`)
      const res = await request(`${this.url}/v2/`, { dispatcher })
      await res.body.dump()
      return res.statusCode === 200 || res.statusCode === 401
    }).finally(async () => { await dispatcher?.close() })
  }

  /** Access-log lines of requests for `method` `path-prefix` */
  served (method: string, prefix: string): string[] {
    return this.log.filter((l) => l.includes(`"${method} ${prefix}`))
  }

  /** Monolithic blob upload through the registry API: POST an upload, PUT it with ?digest=. */
  async pushBlob (name: string, data: Uint8Array, authorization?: string): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
    const auth: Record<string, string> = authorization != null ? { authorization } : {}
    const post = await request(`${this.url}/v2/${name}/blobs/uploads/`, { method: 'POST', headers: auth })
    await post.body.dump()
    if (post.statusCode !== 202) throw new Error(`upload start answered ${post.statusCode}`)
    const loc = new URL(String(post.headers.location), this.url)
    loc.searchParams.set('digest', digest)
    const put = await request(loc, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(data.byteLength) }, body: data })
    await put.body.dump()
    if (put.statusCode !== 201) throw new Error(`upload answered ${put.statusCode}`)
    return digest
  }

  async stop (): Promise<void> { await stopProcess(this.child) }
}

export interface TokenServerInit {
  service: string
  issuer: string
  /** PEM private key and certificate the registry trusts (rootcertbundle) */
  key: string
  cert: string
  users: Record<string, string>
}

/**
 * The token half of the distribution auth flow: checks basic credentials and
 * answers with an RS256 JWT granting the requested scope, the signing
 * certificate in `x5c` (what distribution verifies against its rootcertbundle).
 */
export class TokenServer {
  private server?: Server
  url = ''
  readonly requests: Array<{ user?: string, scope: string, service: string, ok: boolean }> = []

  constructor (private readonly init: TokenServerInit) {}

  async start (): Promise<void> {
    this.server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x')
      const scope = u.searchParams.get('scope') ?? ''
      const service = u.searchParams.get('service') ?? ''
      const m = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''))
      const [user, pass] = m != null ? Buffer.from(m[1], 'base64').toString().split(':') : []
      const ok = user != null && this.init.users[user] === pass && service === this.init.service
      this.requests.push({ user, scope, service, ok })
      if (!ok) { res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}'); return }
      const [type, name, actions] = scope.split(':')
      const token = this.sign({ sub: user, access: type === 'repository' ? [{ type, name, actions: actions.split(',') }] : [] })
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }))
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  /** A token for the test itself (e.g. to push). */
  sign (claims: { sub: string, access: Array<{ type: string, name: string, actions: string[] }> }): string {
    const now = Math.floor(Date.now() / 1000)
    const der = new X509Certificate(this.init.cert).raw.toString('base64')
    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url')
    const head = b64({ alg: 'RS256', typ: 'JWT', x5c: [der] })
    const body = b64({ iss: this.init.issuer, aud: this.init.service, nbf: now - 10, iat: now, exp: now + 300, jti: randomBytes(8).toString('hex'), ...claims })
    const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(this.init.key).toString('base64url')
    return `${head}.${body}.${sig}`
  }

  async stop (): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve())
  }
}
