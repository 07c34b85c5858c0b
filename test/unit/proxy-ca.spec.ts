import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, TLSSocket, type SecureContext } from 'node:tls'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { HttpsHijack } from '@damselfly/proxy'
import { CertificateAuthority } from '@damselfly/proxy/ca'
import { resolveConfig } from '@damselfly/config'
import { silentLogger } from '@damselfly/utils'

/** Whether a TLS client trusting only `ca` accepts `context` as `host`. */
async function handshake (context: SecureContext, ca: string, host: string): Promise<{ ok: boolean, error?: string }> {
  // as the proxy does it: a TLS server socket over an accepted TCP connection
  const server = createNetServer((raw) => {
    const s = new TLSSocket(raw, { isServer: true, secureContext: context })
    s.on('error', () => { raw.destroy() })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    // node checks the certificate against servername, or against the address dialled when there is none (IPs)
    const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca, servername: /^[\d.]+$/.test(host) ? undefined : host })
    return await new Promise((resolve) => {
      socket.once('secureConnect', () => { resolve({ ok: socket.authorized }); socket.destroy() })
      socket.once('error', (err: NodeJS.ErrnoException) => { resolve({ ok: false, error: err.code ?? err.message }) })
    })
  } finally {
    server.close()
  }
}

describe('the proxy CA for HTTPS interception', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'dfly-ca-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('should create its CA once in the data dir, the key readable by its owner only', async () => {
    const a = await CertificateAuthority.load({ dataDir: dir })
    assert.equal((await stat(join(dir, 'ca.key'))).mode & 0o777, 0o600)
    assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), a.certPem)
    const b = await CertificateAuthority.load({ dataDir: dir })
    assert.equal(b.certPem, a.certPem, 'the second start reuses the CA clients already trust')
  })

  it('should mint leaves a client trusting the CA accepts for that name or IP, and only for it', async () => {
    const ca = await CertificateAuthority.load({ dataDir: dir })
    assert.deepEqual(await handshake(await ca.contextFor('models.example'), ca.certPem, 'models.example'), { ok: true })
    assert.deepEqual(await handshake(await ca.contextFor('127.0.0.1'), ca.certPem, '127.0.0.1'), { ok: true })
    const wrong = await handshake(await ca.contextFor('models.example'), ca.certPem, 'other.example')
    assert.equal(wrong.ok, false)
    assert.equal(wrong.error, 'ERR_TLS_CERT_ALTNAME_INVALID')
    const other = await CertificateAuthority.load({ dataDir: join(dir, 'other') })
    const untrusted = await handshake(await ca.contextFor('models.example'), other.certPem, 'models.example')
    assert.equal(untrusted.ok, false)
  })

  it('should refuse a CA key that does not belong to its certificate, without printing the key', async () => {
    await CertificateAuthority.load({ dataDir: join(dir, 'a') })
    await CertificateAuthority.load({ dataDir: join(dir, 'b') })
    const err = await CertificateAuthority.load({ files: { certPath: join(dir, 'a', 'ca.crt'), keyPath: join(dir, 'b', 'ca.key') } }).then(() => undefined, (e) => e)
    assert.match(String(err?.message), /does not belong to the certificate/)
    assert.doesNotMatch(String(err?.message), /PRIVATE KEY/)
  })

  it('should intercept exactly the listed hosts', () => {
    const h = new HttpsHijack({ log: silentLogger() }, { hosts: ['Models.Example', 'hub.example:8443', '[::1]:443', '10.1.2.3'] })
    assert.equal(h.matches('models.example', 443), true)
    assert.equal(h.matches('models.example', 8443), true)
    assert.equal(h.matches('hub.example', 8443), true)
    assert.equal(h.matches('hub.example', 443), false)
    assert.equal(h.matches('::1', 443), true)
    assert.equal(h.matches('10.1.2.3', 1), true)
    assert.equal(h.matches('example.com', 443), false)
    assert.equal(new HttpsHijack({ log: silentLogger() }, { hosts: ['*'] }).matches('anything.example', 443), true)
  })

  it('should read hijacked hosts from DAMSELFLY_HIJACK_HTTPS and want --ca-cert with --ca-key', () => {
    const { config } = resolveConfig<any>('peer', { env: { DAMSELFLY_HIJACK_HTTPS: 'huggingface.co, cdn-lfs.hf.co:443' } })
    assert.deepEqual(config.hijackHttps, ['huggingface.co', 'cdn-lfs.hf.co:443'])
    assert.throws(() => resolveConfig('peer', { flags: { caCert: '/etc/ca.crt' } }), /caCert and caKey go together/)
    assert.throws(() => resolveConfig('peer', { flags: { hijackHttps: ['https://huggingface.co/'] } }), /host, host:port or \*/)
  })
})
