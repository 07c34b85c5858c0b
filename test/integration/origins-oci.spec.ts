import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile, mkdir, writeFile } from 'node:fs/promises'
import bcrypt from 'bcryptjs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withLab } from '../helpers/fixtures.js'
import { getVia } from '@damselfly/cli'
import { taskIdFor, initBlake3 } from '@damselfly/utils'
import { damselfly, NO_DAEMON } from '../helpers/cli.js'
import { selfSigned } from '../helpers/certs.js'
import { Registry, TokenServer } from '../helpers/origin-registry.js'

describe('origins: OCI registry blobs (oci://) on a real docker-registry', function () {
  this.timeout(90_000)
  let dir: string
  let registry: Registry
  const NAME = 'damselfly/layers'
  const blob = randomBytes(9 * 1024 * 1024 + 123)
  let digest: string

  before(async () => {
    await initBlake3()
    dir = await mkdtemp(join(tmpdir(), 'dfly-oci-'))
    await mkdir(join(dir, 'open'))
    registry = new Registry({ dir: join(dir, 'open') })
    await registry.start()
    digest = await registry.pushBlob(NAME, blob)
  })

  after(async () => {
    await registry?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('should download a blob standalone, content-addressed by its digest and verified', async () => {
    const before = registry.served('GET', `/v2/${NAME}/blobs/`).length
    const url = `oci://${registry.host}/${NAME}/blobs/${digest}`
    const r = await damselfly(['get', url, '-O', join(dir, 'layer.bin'), '--api', NO_DAEMON, '--json'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.ok((await readFile(join(dir, 'layer.bin'))).equals(blob))
    assert.equal(r.result.taskId, taskIdFor({ url: 'elsewhere', digest }))
    // one size probe and one ranged GET for the whole blob
    assert.equal(registry.served('GET', `/v2/${NAME}/blobs/`).length - before, 2)
  })

  it('should keep plain http registry blob URLs working (verified against the digest the registry echoes)', async () => {
    const r = await damselfly(['get', `${registry.url}/v2/${NAME}/blobs/${digest}`, '-O', join(dir, 'plain.bin'), '--api', NO_DAEMON, '--json'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.ok((await readFile(join(dir, 'plain.bin'))).equals(blob))
  })

  it('should fail clearly for a blob the registry does not have', async () => {
    const missing = `sha256:${'ab'.repeat(32)}`
    const r = await damselfly(['get', `oci://${registry.host}/${NAME}/blobs/${missing}`, '-O', join(dir, 'missing.bin'), '--api', NO_DAEMON, '--json'])
    assert.equal(r.code, 1)
    assert.match(r.result.error.message, /404/)
  })

  describe('through a lab', () => {
    const l = withLab({ name: 'oci-lab', lab: { peers: 2 } })

    it('should fetch the blob from the registry once and give every peer identical bytes', async () => {
      const before = registry.served('GET', `/v2/${NAME}/blobs/`).length
      const url = `oci://${registry.host}/${NAME}/blobs/${digest}`
      const eps = l.lab.endpoints!
      // no --digest: the CLI learns it from the URL and sends it to the daemon
      const results = await Promise.all(eps.peers.map(async (p, i) => await getVia(p, url, join(dir, `lab-${i}.bin`))))
      for (const r of results) assert.equal(r.ok, true, JSON.stringify(r))
      for (const r of results) assert.equal((r as any).taskId, taskIdFor({ url, digest }))
      for (let i = 0; i < eps.peers.length; i++) assert.ok((await readFile(join(dir, `lab-${i}.bin`))).equals(blob), `peer ${i} differs`)
      assert.equal(results.reduce((a, r) => a + r.bytesFromOrigin, 0), 0, 'no peer went to the registry itself')
      // each peer asks the registry (a 1-byte probe) whether its client may read the blob before serving it from P2P
      assert.equal(registry.served('GET', `/v2/${NAME}/blobs/`).length - before, 2 + eps.peers.length, 'the seed probed and fetched the blob once, each peer probed once')
    })
  })

  describe('with token auth', () => {
    let secured: Registry
    let tokens: TokenServer
    const SERVICE = 'damselfly-test-registry'
    const ISSUER = 'damselfly-test-issuer'
    const PASSWORD = 's3cret-pa55word'
    let securedDigest: string

    before(async () => {
      await mkdir(join(dir, 'secured'))
      const cert = await selfSigned(join(dir, 'secured'), 'token-signer')
      tokens = new TokenServer({ service: SERVICE, issuer: ISSUER, key: cert.key, cert: cert.cert, users: { alice: PASSWORD } })
      await tokens.start()
      secured = new Registry({ dir: join(dir, 'secured'), token: { realm: `${tokens.url}/token`, service: SERVICE, issuer: ISSUER, certPath: cert.certPath } })
      await secured.start()
      const push = tokens.sign({ sub: 'alice', access: [{ type: 'repository', name: NAME, actions: ['pull', 'push'] }] })
      securedDigest = await secured.pushBlob(NAME, blob, `Bearer ${push}`)
    })

    after(async () => {
      await secured?.stop()
      await tokens?.stop()
    })

    it('should answer the registry\'s 401 challenge with a bearer token fetched with basic credentials', async () => {
      const url = `oci://${secured.host}/${NAME}/blobs/${securedDigest}`
      const r = await damselfly(['get', url, '-O', join(dir, 'secured.bin'), '--api', NO_DAEMON, '--json', '--registry-user', 'alice'],
        { DAMSELFLY_REGISTRY_PASSWORD: PASSWORD })
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.ok((await readFile(join(dir, 'secured.bin'))).equals(blob))
      const asked = tokens.requests.filter((t) => t.ok)
      assert.equal(asked.length, 1, 'one token, reused for the probe and the download')
      assert.equal(asked[0].scope, `repository:${NAME}:pull`)
      assert.equal(asked[0].user, 'alice')
      const blobGets = secured.served('GET', `/v2/${NAME}/blobs/`)
      assert.ok(blobGets.some((l) => / 401 /.test(l)), 'the registry challenged first')
      assert.equal(r.stdout.includes(PASSWORD) || r.stderr.includes(PASSWORD), false, 'the password is never printed')
    })

    it('should take credentials from the URL too, and never print them', async () => {
      const url = `oci://alice:${PASSWORD}@${secured.host}/${NAME}/blobs/${securedDigest}`
      const r = await damselfly(['get', url, '-O', join(dir, 'secured2.bin'), '--api', NO_DAEMON, '--json'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.ok((await readFile(join(dir, 'secured2.bin'))).equals(blob))
      // the URL is the task's name (results, stats, scheduler): it loses the password on the way
      assert.equal(r.stdout.includes(PASSWORD) || r.stderr.includes(PASSWORD), false, r.stdout)
      assert.equal(r.result.url, `oci://${secured.host}/${NAME}/blobs/${securedDigest}`)
    })

    it('should fail with an auth error, not print the password, when the credentials are wrong', async () => {
      const url = `oci://${secured.host}/${NAME}/blobs/${securedDigest}`
      const r = await damselfly(['get', url, '-O', join(dir, 'denied.bin'), '--api', NO_DAEMON, '--json', '--registry-user', 'alice'],
        { DAMSELFLY_REGISTRY_PASSWORD: 'wrong-password-xyz' })
      assert.equal(r.code, 1)
      assert.equal(r.result.error.code, 'ERR_ORIGIN_AUTH')
      assert.equal(r.stdout.includes('wrong-password-xyz') || r.stderr.includes('wrong-password-xyz'), false)
      await assert.rejects(readFile(join(dir, 'denied.bin')), { code: 'ENOENT' })
    })
  })

  describe('with basic auth (htpasswd)', () => {
    let basic: Registry
    const PASSWORD = 'b4sic-pa55'
    let basicDigest: string

    before(async () => {
      await mkdir(join(dir, 'basic'))
      await writeFile(join(dir, 'basic', 'htpasswd'), `bob:${bcrypt.hashSync(PASSWORD, 4)}\n`)
      basic = new Registry({ dir: join(dir, 'basic'), htpasswd: join(dir, 'basic', 'htpasswd') })
      await basic.start()
      basicDigest = await basic.pushBlob(NAME, blob, `Basic ${Buffer.from(`bob:${PASSWORD}`).toString('base64')}`)
    })
    after(async () => { await basic?.stop() })

    it('should answer a Basic challenge with the credentials from the environment', async () => {
      const url = `oci://${basic.host}/${NAME}/blobs/${basicDigest}`
      const r = await damselfly(['get', url, '-O', join(dir, 'basic.bin'), '--api', NO_DAEMON, '--json'],
        { DAMSELFLY_REGISTRY_USER: 'bob', DAMSELFLY_REGISTRY_PASSWORD: PASSWORD })
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.ok((await readFile(join(dir, 'basic.bin'))).equals(blob))
      assert.equal(r.stdout.includes(PASSWORD) || r.stderr.includes(PASSWORD), false)
    })

    it('should say which credentials are missing', async () => {
      const r = await damselfly(['get', `oci://${basic.host}/${NAME}/blobs/${basicDigest}`, '-O', join(dir, 'anon.bin'), '--api', NO_DAEMON, '--json'])
      assert.equal(r.code, 1)
      assert.equal(r.result.error.code, 'ERR_ORIGIN_AUTH')
      assert.match(r.result.error.message, /DAMSELFLY_REGISTRY_USER/)
    })
  })
})
