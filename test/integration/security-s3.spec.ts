import assert from 'node:assert/strict'
import { mkdtemp, rm, access } from 'node:fs/promises'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import S3rver from 's3rver'
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { startLab, getVia, type Lab } from '@damselfly/cli'
import { taskIdFor } from '@damselfly/utils'
import { NO_TASK_KEY_PARTS } from '@damselfly/proto'
import { fetchJson, waitFor } from '@damselfly/testkit'
import { RoguePeer } from '../helpers/rogue-peer.js'
import { keepLogsOnFailure } from '../helpers/faults.js'

const TOKEN = `cluster-${randomBytes(8).toString('hex')}`
// s3rver knows only this access key id (and does not check the secret): the seed's requests are
// told apart from unsigned ones by the Authorization header they carry
const SEED_KEY_ID = 'S3RVER'
const SEED_SECRET = `seed-secret-${randomBytes(8).toString('hex')}`

interface Seen { method: string, url: string, authorization: string }

/**
 * A private bucket in front of s3rver (which serves anyone): records what each request carries
 * and refuses unsigned ones with 403, as S3 does for a bucket without public access.
 */
async function startPrivateBucketFront (target: string): Promise<{ server: Server, url: string, seen: Seen[] }> {
  const seen: Seen[] = []
  const upstream = new URL(target)
  const server = createServer((req, res) => {
    const authorization = req.headers.authorization ?? (new URL(req.url ?? '/', 'http://x').searchParams.get('X-Amz-Credential') ?? '')
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization })
    if (authorization === '') {
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>')
      return
    }
    const up = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    up.on('error', () => { res.destroy() })
    req.pipe(up)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

/**
 * Security issue #14: a seed's own S3 keys are used only for the buckets its operator listed in
 * `--origin-credentials-allow`. A cluster member that asks for another bucket (straight to the
 * scheduler, past its own peer's access check) gets an unsigned origin request and nothing else.
 */
describe('security: a seed\'s own S3 credentials', function () {
  this.timeout(180_000)
  let dir: string
  let s3: S3rver
  let seedFront: Awaited<ReturnType<typeof startPrivateBucketFront>>
  let peerFront: Awaited<ReturnType<typeof startPrivateBucketFront>>
  let lab: Lab
  const rogues: RoguePeer[] = []
  const object = randomBytes(3 * 1024 * 1024 + 11)

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfly-sec-s3-'))
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 'store') })
    const endpoint = `http://127.0.0.1:${(await s3.run() as AddressInfo).port}`
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
    for (const bucket of ['private', 'shared']) {
      await client.send(new CreateBucketCommand({ Bucket: bucket }))
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'weights.bin', Body: object }))
    }
    client.destroy()
    seedFront = await startPrivateBucketFront(endpoint)
    peerFront = await startPrivateBucketFront(endpoint)
    // the lab's processes inherit this environment: the seed keeps these keys; the client's
    // peer is restarted without them below (an edge node with no S3 keys)
    const saved = { ...process.env }
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: SEED_KEY_ID, AWS_SECRET_ACCESS_KEY: SEED_SECRET, AWS_REGION: 'us-east-1' })
    try {
      lab = await startLab({
        peers: 1,
        pools: ['edge-a'],
        token: TOKEN,
        dataDir: join(dir, 'lab'),
        seedArgs: ['--s3-endpoint', seedFront.url, '--origin-credentials-allow', 'shared'],
        peerArgs: ['--s3-endpoint', peerFront.url]
      })
    } finally {
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
        if (saved[k] == null) delete process.env[k]; else process.env[k] = saved[k]
      }
    }
    await lab.restartPeer(lab.endpoints!.peers[0].pid)
  })

  afterEach(async function () { await keepLogsOnFailure(this, lab?.endpoints?.logs) })

  after(async () => {
    for (const r of rogues) await r.stop().catch(() => {})
    await lab?.stop()
    seedFront?.server.close()
    peerFront?.server.close()
    await s3?.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function announceAsMember (url: string): Promise<string> {
    const r = new RoguePeer({ schedulerUrl: lab.endpoints!.scheduler.url, token: TOKEN })
    await r.start()
    rogues.push(r)
    await r.connect()
    const taskId = taskIdFor({ url })
    r.client!.send({ announce: { taskId, url, headers: [], pieceLength: 0, digest: '', ...NO_TASK_KEY_PARTS } })
    return taskId
  }

  const objectRequests = (bucket: string): Seen[] => seedFront.seen.filter((s) => s.url.startsWith(`/${bucket}/`))

  it('should not sign with the seed\'s keys for a bucket it does not list, and leave nothing behind', async () => {
    // a client on an edge node without S3 keys: nothing to sign with, no object
    const out = join(dir, 'private.bin')
    const got = await getVia(lab.endpoints!.peers[0], 's3://private/weights.bin', out)
    assert.equal(got.ok, false, JSON.stringify(got))
    assert.match(JSON.stringify(got), /403|credentials/)
    await assert.rejects(access(out), 'a file was written for a requester the origin refused')
    // a member that skips its peer's check and announces straight to the scheduler: the seed
    // fetches the bucket, but unsigned, and the origin refuses it
    const taskId = await announceAsMember('s3://private/weights.bin')
    await waitFor('the seed to try the origin', async () => objectRequests('private').length > 0)
    const task = await waitFor('the seed to give up', async () => {
      const t = await fetchJson<any>(`${lab.endpoints!.scheduler.url}/api/v1/tasks/${taskId}`)
      return t.seedState === 'failed' ? t : undefined
    })
    assert.deepEqual(objectRequests('private').filter((s) => s.authorization !== ''), [], 'the seed signed a request with its own keys')
    assert.equal(task.contentLength, -1, 'the seed published the object')
    assert.equal(task.manifestPieces, 0)
  })

  it('should sign with the seed\'s keys for a bucket in --origin-credentials-allow', async () => {
    const taskId = await announceAsMember('s3://shared/weights.bin')
    const task = await waitFor('the seed to finish', async () => {
      const t = await fetchJson<any>(`${lab.endpoints!.scheduler.url}/api/v1/tasks/${taskId}`)
      return t.seedState === 'done' ? t : undefined
    })
    assert.equal(task.contentLength, object.byteLength)
    const signed = objectRequests('shared')
    assert.ok(signed.length > 0)
    for (const s of signed) assert.match(s.authorization, new RegExp(`Credential=${SEED_KEY_ID}/`), `${s.method} ${s.url} was not signed with the seed's key`)
  })

  it('should not serve a bucket the seed holds to a client on an edge node without S3 keys', async () => {
    // the seed holds s3://shared/weights.bin (the test above): the origin, asked without
    // credentials, must still decide whether this client may read it
    const out = join(dir, 'shared.bin')
    const got = await getVia(lab.endpoints!.peers[0], 's3://shared/weights.bin', out)
    assert.equal(got.ok, false, `a client without credentials got a private object from the swarm: ${JSON.stringify(got)}`)
    await assert.rejects(access(out), 'a file was written for a requester the origin refused')
  })
})
