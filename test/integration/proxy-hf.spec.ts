import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { downloadFile, listFiles } from '@huggingface/hub'
import { writeRandomFile, sha256File } from '@damselfly/testkit'
import { withLab } from '../helpers/fixtures.js'
import { HubStub } from '../helpers/hub-stub.js'

describe('the peer proxy as HF_ENDPOINT for the @huggingface/hub client', function () {
  this.timeout(120_000)
  let hub: HubStub
  const SIZE = 13 * 1024 * 1024 + 17
  const REPO = 'acme/tiny-model'
  const COMMIT = 'a'.repeat(40)
  const TOKEN = 'hf_damselfly_test'

  after(async () => { await hub?.stop() })
  const f = withLab({
    name: 'proxy-hf',
    lab: async ({ dir }) => {
      await writeRandomFile(join(dir, 'model.safetensors'), SIZE)
      await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'tiny', hidden_size: 8 }))
      hub = new HubStub({
        repo: REPO,
        commit: COMMIT,
        token: TOKEN,
        files: [
          { path: 'model.safetensors', file: join(dir, 'model.safetensors'), oid: 'b'.repeat(40), lfs: { sha256: await sha256File(join(dir, 'model.safetensors')) } },
          { path: 'config.json', file: join(dir, 'config.json'), oid: 'c'.repeat(40) }
        ]
      })
      await hub.start()
      // the hub is allowed as the configured endpoint; its CDN (loopback too) must be allow-listed
      return { peers: 2, peerArgs: ['--hf-endpoint', hub.hubUrl], proxyAllow: [new URL(hub.cdnUrl).host] }
    }
  })
  const proxies = (): string[] => f.lab.endpoints!.peers.map((p) => p.proxy!)

  it('should download an LFS file through two peers with the CDN read once', async () => {
    const want = await readFile(join(f.dir, 'model.safetensors'))
    for (const proxy of proxies()) {
      const blob = await downloadFile({ repo: REPO, path: 'model.safetensors', hubUrl: `${proxy}/hf`, accessToken: TOKEN })
      assert.ok(blob != null)
      assert.equal(blob.size, SIZE)
      assert.ok(Buffer.from(await blob.arrayBuffer()).equals(want), `bytes through ${proxy} differ`)
    }
    // the seed's one pass plus its 1-byte size probe
    assert.ok(hub.cdnBytes <= SIZE + 3, `the CDN sent ${hub.cdnBytes} bytes for a ${SIZE}-byte file`)
    // the client's token reached the hub on the seed's fetch too (a gated repo answers 401 otherwise)
    assert.ok(hub.log.filter((r) => r.path.includes('/resolve/')).every((r) => r.auth))
  })

  it('should pass the API and small files through with the headers hub clients read', async () => {
    const names: string[] = []
    for await (const f of listFiles({ repo: REPO, hubUrl: `${proxies()[0]}/hf`, accessToken: TOKEN })) names.push(f.path)
    assert.deepEqual(names.sort(), ['config.json', 'model.safetensors'])
    const cfg = await downloadFile({ repo: REPO, path: 'config.json', hubUrl: `${proxies()[1]}/hf`, accessToken: TOKEN })
    assert.deepEqual(JSON.parse(await cfg!.text()), { model_type: 'tiny', hidden_size: 8 })

    // huggingface_hub (Python) reads metadata with HEAD and downloads from Location or the same URL:
    // no Location to the CDN, so the download comes back through the proxy
    const head = await fetch(`${proxies()[0]}/hf/${REPO}/resolve/main/model.safetensors`, { method: 'HEAD', headers: { authorization: `Bearer ${TOKEN}` }, redirect: 'manual' })
    assert.equal(head.status, 200)
    assert.equal(head.headers.get('location'), null)
    assert.equal(head.headers.get('x-repo-commit'), COMMIT)
    assert.equal(head.headers.get('x-linked-size'), String(SIZE))
    assert.equal(head.headers.get('content-length'), String(SIZE))
    assert.match(head.headers.get('x-linked-etag') ?? '', /^"[0-9a-f]{64}"$/)

    const ranged = await fetch(`${proxies()[1]}/hf/${REPO}/resolve/main/model.safetensors`, { headers: { authorization: `Bearer ${TOKEN}`, range: 'bytes=100-199' } })
    assert.equal(ranged.status, 206)
    assert.equal(ranged.headers.get('content-range'), `bytes 100-199/${SIZE}`)
    assert.equal(ranged.headers.get('x-linked-etag'), head.headers.get('x-linked-etag'))
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals((await readFile(join(f.dir, 'model.safetensors'))).subarray(100, 200)))
  })

  it('should hand the hub\'s errors to the client', async () => {
    await assert.rejects(downloadFile({ repo: REPO, path: 'model.safetensors', hubUrl: `${proxies()[0]}/hf`, accessToken: 'hf_wrong' }), /401|gated|Unauthorized/i)
    assert.equal(await downloadFile({ repo: REPO, path: 'missing.bin', hubUrl: `${proxies()[0]}/hf`, accessToken: TOKEN }), null)
  })
})
