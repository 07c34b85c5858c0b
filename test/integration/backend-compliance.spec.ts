import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { randomBytes, createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import S3rver from 's3rver'
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startOrigin, startHub } from '@damselfly/testkit'
import { createBackends, type BackendsInit } from '@damselfly/backend'
import type { Backend } from '@damselfly/types'
import { clientOrSkip } from '../helpers/clients.js'
import { Registry } from '../helpers/origin-registry.js'

/** One origin for the suite: a backend, an object it serves and one it does not. */
interface Fixture {
  backend: Backend
  url: string
  missingUrl: string
  content: Uint8Array
  stop: () => Promise<void>
}

const CONTENT = randomBytes(3 * 1024 * 1024 + 4321)
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

async function collect (body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of body) parts.push(c)
  return Buffer.concat(parts)
}

/**
 * What every backend owes the task engine, written once and run against each: stat gives the
 * size (and a digest only when it is the content's), a whole get gives the bytes, a ranged get
 * gives exactly the range and says where it starts, a missing object is an error, and a listing
 * (where there is one) names the object with its size.
 */
function backendCompliance (name: string, setup: (ctx: Mocha.Context) => Promise<Fixture>): void {
  describe(`backend compliance: ${name}`, function () {
    this.timeout(60_000)
    let f: Fixture
    // the context lets a setup skip the suite when its origin's binary is not installed
    before(async function () { f = await setup(this) })
    after(async () => { await f?.stop() })

    it('should stat the size, and a digest only when it is the content\'s', async () => {
      const st = await f.backend.stat(f.url, {})
      assert.equal(st.contentLength, f.content.byteLength)
      if (st.digest != null) assert.equal(st.digest, `sha256:${sha256(f.content)}`)
    })

    it('should get the whole object byte for byte', async () => {
      const r = await f.backend.get(f.url, {}, {})
      assert.equal(r.start, 0)
      assert.ok((await collect(r.body)).equals(f.content))
    })

    it('should get exactly a range, from where it says it starts', async () => {
      const start = 1_000_003
      const end = 2_500_000
      const r = await f.backend.get(f.url, {}, { start, end })
      const got = await collect(r.body)
      // a backend may start earlier than asked (an origin ignoring Range), never later
      assert.ok(r.start <= start)
      assert.ok(got.subarray(start - r.start, start - r.start + (end - start + 1)).equals(Buffer.from(f.content.subarray(start, end + 1))))
      const tail = await f.backend.get(f.url, {}, { start: f.content.byteLength - 10 })
      const t = await collect(tail.body)
      assert.ok(t.subarray(t.byteLength - 10).equals(Buffer.from(f.content.subarray(f.content.byteLength - 10))))
    })

    it('should fail clearly on an object the origin does not have', async () => {
      await assert.rejects(f.backend.stat(f.missingUrl, {}), (err: Error) => err.message.length > 0)
    })

    it('should list the object with its size where the backend lists', async function () {
      if (f.backend.list == null) this.skip()
      const entries = await f.backend.list!(f.url, {})
      assert.equal(entries.length, 1)
      if (entries[0].contentLength >= 0) assert.equal(entries[0].contentLength, f.content.byteLength)
      if (entries[0].digest != null) assert.equal(entries[0].digest, `sha256:${sha256(f.content)}`)
    })
  })
}

async function withDir<T> (fn: (dir: string) => Promise<T>): Promise<{ value: T, dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'dfly-compliance-'))
  return { value: await fn(dir), dir }
}

backendCompliance('http (an HTTP origin with Range)', async () => {
  const { value: origin, dir } = await withDir(async (dir) => {
    await writeFile(join(dir, 'blob.bin'), CONTENT)
    return await startOrigin({ files: { '/blob.bin': join(dir, 'blob.bin') } })
  })
  const backends = createBackends()
  return {
    backend: backends.forUrl(origin.url),
    url: `${origin.url}/blob.bin`,
    missingUrl: `${origin.url}/nope.bin`,
    content: CONTENT,
    stop: async () => { await backends.close(); await origin.stop(); await rm(dir, { recursive: true, force: true }) }
  }
})

backendCompliance('s3 (s3rver)', async () => {
  const { value: s3, dir } = await withDir(async (dir) => new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 'store') }))
  const addr = await s3.run() as AddressInfo
  const endpoint = `http://127.0.0.1:${addr.port}`
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials })
  await client.send(new CreateBucketCommand({ Bucket: 'models' }))
  await client.send(new PutObjectCommand({ Bucket: 'models', Key: 'w.bin', Body: CONTENT }))
  client.destroy()
  const backends = createBackends({ s3: { endpoint, region: 'us-east-1', credentials } } satisfies BackendsInit)
  return {
    backend: backends.forUrl('s3://models/w.bin'),
    url: 's3://models/w.bin',
    missingUrl: 's3://models/nope.bin',
    content: CONTENT,
    stop: async () => { await backends.close(); await s3.close(); await rm(dir, { recursive: true, force: true }) }
  }
})

const TOKEN = 'compliance-hub-token'

backendCompliance('hf (the test hub, LFS file through its CDN)', async () => {
  const hub = await startHub({ token: TOKEN, repos: [{ id: 'acme/tiny', files: { 'model.safetensors': CONTENT } }] })
  const backends = createBackends({ hf: { endpoint: hub.url, token: TOKEN } })
  return {
    backend: backends.forUrl('hf://acme/tiny/model.safetensors'),
    url: 'hf://acme/tiny/model.safetensors',
    missingUrl: 'hf://acme/tiny/nope.safetensors',
    content: CONTENT,
    stop: async () => { await backends.close(); await hub.stop() }
  }
})

backendCompliance('modelscope (the test hub\'s ModelScope API)', async () => {
  const hub = await startHub({ token: TOKEN, repos: [{ id: 'acme/tiny', files: { 'model.safetensors': CONTENT } }] })
  const backends = createBackends({ modelscope: { endpoint: hub.url, token: TOKEN } })
  return {
    backend: backends.forUrl('modelscope://acme/tiny/model.safetensors'),
    url: 'modelscope://acme/tiny/model.safetensors',
    missingUrl: 'modelscope://acme/tiny/nope.safetensors',
    content: CONTENT,
    stop: async () => { await backends.close(); await hub.stop() }
  }
})

backendCompliance('oci (docker-registry, a blob by digest)', async (ctx) => {
  await clientOrSkip(ctx, 'docker-registry')
  const { value: registry, dir } = await withDir(async (dir) => new Registry({ dir }))
  await registry.start()
  const name = 'damselfly/compliance'
  const digest = await registry.pushBlob(name, CONTENT)
  const backends = createBackends()
  return {
    backend: backends.forUrl(`oci://${registry.host}/${name}/blobs/${digest}`),
    url: `oci://${registry.host}/${name}/blobs/${digest}`,
    missingUrl: `oci://${registry.host}/${name}/blobs/sha256:${'ab'.repeat(32)}`,
    content: CONTENT,
    stop: async () => { await backends.close(); await registry.stop(); await rm(dir, { recursive: true, force: true }) }
  }
})
