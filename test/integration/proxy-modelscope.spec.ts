import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { startHub, type Hub } from '@damselfly/testkit'
import { withLab } from '../helpers/fixtures.js'

const TOKEN = 'ms-proxy-test-token'

/**
 * The calls the ModelScope SDK makes with `MODELSCOPE_DOMAIN` pointing at the
 * proxy: the file listing (for sizes and sha256), then each file's content
 * from `/api/v1/models/{org}/{model}/repo?Revision=..&FilePath=..`, ranged
 * for large files, with the user's token.
 */
describe('the peer proxy as the ModelScope endpoint', function () {
  this.timeout(120_000)
  let hub: Hub
  const weights = randomBytes(11 * 1024 * 1024 + 321)
  const sha = createHash('sha256').update(weights).digest('hex')
  const auth = { authorization: `Bearer ${TOKEN}` }
  const content = (proxy: string, path: string, rev = 'master'): string => `${proxy}/modelscope/api/v1/models/acme/tiny/repo?Revision=${rev}&FilePath=${encodeURIComponent(path)}`
  const contentRequests = (): number => hub.requestLog.filter((r) => r.path === '/api/v1/models/acme/tiny/repo').length

  before(async () => { hub = await startHub({ token: TOKEN, repos: [{ id: 'acme/tiny', files: { 'model.safetensors': weights, 'configuration.json': '{"framework":"pytorch"}\n' } }] }) })
  after(async () => { await hub?.stop() })
  const f = withLab({ name: 'proxy-ms', lab: () => ({ peers: 2, peerArgs: ['--modelscope-endpoint', hub.url] }) })
  const proxies = (): string[] => f.lab.endpoints!.peers.map((p) => p.proxy!)

  it('should serve a file through two peers from P2P with the hub sending it about once', async () => {
    const before = hub.bytesServed
    for (const proxy of proxies()) {
      const listing = await fetch(`${proxy}/modelscope/api/v1/models/acme/tiny/repo/files?Revision=master&Recursive=true`, { headers: auth })
      assert.equal(listing.status, 200)
      const file = ((await listing.json()) as { Data: { Files: Array<{ Path: string, Sha256: string }> } }).Data.Files.find((n) => n.Path === 'model.safetensors')
      assert.equal(file?.Sha256, sha)
      const r = await fetch(content(proxy, 'model.safetensors'), { headers: auth })
      assert.equal(r.status, 200)
      assert.equal(r.headers.get('etag'), `"${sha}"`)
      const got = Buffer.from(await r.arrayBuffer())
      assert.equal(createHash('sha256').update(got).digest('hex'), sha, `bytes through ${proxy} differ`)
    }
    // the seed's one pass plus its size probe, not one copy per peer
    const sent = hub.bytesServed - before
    assert.ok(sent <= weights.byteLength + 1024, `the hub sent ${sent} bytes for a ${weights.byteLength}-byte file`)
    // the client's token reached the hub on the seed's fetch (the repo is private)
    assert.ok(contentRequests() > 0)
    assert.ok(hub.requestLog.filter((r) => r.path.startsWith('/api/v1/')).every((r) => r.auth))
  })

  it('should answer HEAD from the listing and ranges from the pieces', async () => {
    const head = await fetch(content(proxies()[1], 'model.safetensors'), { method: 'HEAD', headers: auth })
    assert.equal(head.status, 200)
    assert.equal(head.headers.get('content-length'), String(weights.byteLength))
    const ranged = await fetch(content(proxies()[1], 'model.safetensors'), { headers: { ...auth, range: 'bytes=1000-1999' } })
    assert.equal(ranged.status, 206)
    assert.equal(ranged.headers.get('content-range'), `bytes 1000-1999/${weights.byteLength}`)
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(weights.subarray(1000, 2000)))
    const small = await fetch(content(proxies()[0], 'configuration.json', hub.commit('acme/tiny')), { headers: auth })
    assert.equal(await small.text(), '{"framework":"pytorch"}\n')
  })

  it('should give a client without the token the hub\'s refusal, not the bytes other peers hold', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
      const r = await fetch(content(proxies()[0], 'model.safetensors'), { headers })
      assert.equal(r.status, 401)
      const body = Buffer.from(await r.arrayBuffer())
      assert.ok(body.byteLength < 1024, `${body.byteLength} bytes came back without a valid token`)
    }
    const missing = await fetch(content(proxies()[0], 'nope.bin'), { headers: auth })
    assert.equal(missing.status, 404)
  })
})
