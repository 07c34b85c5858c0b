import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { damselfly, NO_DAEMON } from '../helpers/cli.js'

describe('origins: S3 (s3://) against s3rver', function () {
  this.timeout(60_000)
  let dir: string
  let s3: S3rver
  let endpoint: string
  const log: Array<{ method: string, url: string, range?: string }> = []
  const object = randomBytes(5 * 1024 * 1024 + 999)
  const tree: Record<string, Buffer> = { 'a.bin': randomBytes(1_000_000), 'sub/b.bin': randomBytes(70_000), 'sub/deeper/c.txt': Buffer.from('c\n') }
  const creds = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfly-s3-'))
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 'store') })
    const addr = await s3.run() as AddressInfo
    endpoint = `http://127.0.0.1:${addr.port}`
    ;((s3 as any).httpServer as Server).on('request', (req) => { log.push({ method: req.method ?? '', url: req.url ?? '', range: req.headers.range }) })
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
    await client.send(new CreateBucketCommand({ Bucket: 'models' }))
    await client.send(new PutObjectCommand({ Bucket: 'models', Key: 'llm/weights v1.bin', Body: object }))
    for (const [k, v] of Object.entries(tree)) await client.send(new PutObjectCommand({ Bucket: 'models', Key: `ckpt/${k}`, Body: v }))
    client.destroy()
  })

  after(async () => {
    await s3?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('should download an object with HeadObject then one ranged GetObject, byte-identical', async () => {
    log.length = 0
    const r = await damselfly(['get', 's3://models/llm/weights%20v1.bin', '-O', join(dir, 'w.bin'), '--api', NO_DAEMON, '--json', '--s3-endpoint', endpoint, '--s3-region', 'us-east-1'], creds)
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.ok((await readFile(join(dir, 'w.bin'))).equals(object))
    const objectRequests = log.filter((l) => l.url.startsWith('/models/llm/'))
    assert.deepEqual(objectRequests.map((l) => l.method), ['HEAD', 'GET'])
    assert.equal(objectRequests[1].range, `bytes=0-${object.byteLength - 1}`)
    assert.equal(log.length, 2, 'no listing for a single object')
  })

  it('should take the endpoint from AWS_ENDPOINT_URL', async () => {
    const r = await damselfly(['get', 's3://models/llm/weights%20v1.bin', '-O', join(dir, 'env.bin'), '--api', NO_DAEMON, '--json'], { ...creds, AWS_ENDPOINT_URL: endpoint })
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.ok((await readFile(join(dir, 'env.bin'))).equals(object))
  })

  it('should fail clearly for a missing key and leave no file', async () => {
    const r = await damselfly(['get', 's3://models/nope.bin', '-O', join(dir, 'nope.bin'), '--api', NO_DAEMON, '--json', '--s3-endpoint', endpoint], creds)
    assert.equal(r.code, 1)
    assert.equal(r.result.error.code, 'ERR_ORIGIN')
    assert.match(r.result.error.message, /404/)
    await assert.rejects(readFile(join(dir, 'nope.bin')), { code: 'ENOENT' })
  })

  it('should download every object under a prefix with -r', async () => {
    const out = join(dir, 'ckpt')
    const r = await damselfly(['get', '-r', 's3://models/ckpt', '-O', out, '--api', NO_DAEMON, '--json', '--s3-endpoint', endpoint], creds)
    assert.equal(r.code, 0, r.stdout + r.stderr)
    for (const [k, v] of Object.entries(tree)) assert.ok((await readFile(join(out, k))).equals(v), `${k} differs`)
  })
})
