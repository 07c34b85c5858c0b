import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { startOrigin, writeRandomFile, sha256File, type Origin } from '@damselfly/testkit'
import { startLab, program, type Lab } from '@damselfly/cli'
import { taskIdFor } from '@damselfly/utils'
import { NO_TASK_KEY_PARTS } from '@damselfly/proto'
import { getVia } from '@damselfly/cli'
import { fetchJson } from '@damselfly/testkit'
import { RoguePeer } from '../helpers/rogue-peer.js'
import { labLogs, keepLogsOnFailure } from '../helpers/faults.js'
import type { ServerResponse } from 'node:http'

const MiB = 1024 * 1024
const TOKEN = `cluster-${randomBytes(8).toString('hex')}`
const SEED_TOKEN = `seed-${randomBytes(8).toString('hex')}`
const SECRET = `hf_${randomBytes(12).toString('hex')}`

describe('security: who may join, who may publish, what never leaks', function () {
  this.timeout(120_000)
  let dir: string
  let origin: Origin
  let lab: Lab
  const held: ServerResponse[] = []
  const rogues: RoguePeer[] = []
  const authSeen = { with: 0, without: 0 }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfly-security-'))
    await writeRandomFile(join(dir, 'private.bin'), 6 * MiB + 5)
    origin = await startOrigin({
      files: { '/private.bin': join(dir, 'private.bin') },
      intercept: (req, res, path) => {
        // an origin that never answers: the seed cannot publish anything for this task
        if (path === '/held.bin') { held.push(res); return true }
        if (path === '/private.bin') {
          if (req.headers.authorization === `Bearer ${SECRET}`) { authSeen.with++; return false }
          authSeen.without++
          res.writeHead(401).end('unauthorised')
          return true
        }
        return false
      }
    })
    lab = await startLab({ peers: 3, token: TOKEN, seedToken: SEED_TOKEN, dataDir: join(dir, 'lab') })
  })

  afterEach(async function () { await keepLogsOnFailure(this, lab?.endpoints?.logs) })

  after(async () => {
    for (const r of rogues) await r.stop().catch(() => {})
    for (const res of held) res.destroy()
    await lab?.stop()
    await origin?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  async function rogue (token: string | undefined, claimSeed = false): Promise<RoguePeer> {
    const r = new RoguePeer({ schedulerUrl: lab.endpoints!.scheduler.url, token, claimSeed })
    await r.start()
    rogues.push(r)
    return r
  }

  async function schedulerPeers (): Promise<string[]> {
    return (await fetchJson<any[]>(`${lab.endpoints!.scheduler.url}/api/v1/peers`)).map((p) => p.id)
  }

  it('should refuse a peer without the cluster token and ignore everything it sends', async () => {
    const url = `${origin.url}/held.bin`
    const taskId = taskIdFor({ url })
    // the cluster is a libp2p private network keyed by its token: without it no connection completes
    for (const token of [undefined, 'wrong-token']) {
      const r = await rogue(token)
      await assert.rejects(r.rawSession([
        { register: r.registration() },
        { announce: { taskId, url, headers: [], pieceLength: 0, digest: '', ...NO_TASK_KEY_PARTS } }
      ]))
      assert.ok(!(await schedulerPeers()).includes(r.peerId))
    }
    // a node with the network key but presenting a wrong token at registration is refused there
    const r = new RoguePeer({ schedulerUrl: lab.endpoints!.scheduler.url, token: 'wrong-token', networkToken: TOKEN })
    await r.start()
    rogues.push(r)
    const { replies, closed } = await r.rawSession([
      { register: r.registration() },
      { announce: { taskId, url, headers: [], pieceLength: 0, digest: '', ...NO_TASK_KEY_PARTS } },
      { meta: { taskId, contentLength: 100, pieceLength: MiB, url } },
      { pieces: { taskId, indexes: [0], digests: [{ index: 0, digest: new Uint8Array(32) }], parentId: '', costMs: 0 } }
    ])
    assert.equal(replies[0]?.registered?.error, 'invalid cluster token')
    assert.equal(replies.length, 1, 'nothing but the refusal came back')
    assert.equal(closed, true, 'the scheduler closed the session')
    assert.ok(!(await schedulerPeers()).includes(r.peerId))
    const tasks = await fetchJson<any[]>(`${lab.endpoints!.scheduler.url}/api/v1/tasks`)
    assert.equal(tasks.find((t) => t.id === taskId), undefined, 'a refused peer created a task')
  })

  it('should refuse a peer that claims to be a seed without the seed token', async () => {
    const r = await rogue(TOKEN, true)
    const { replies, closed } = await r.rawSession([{ register: r.registration() }])
    assert.equal(replies[0]?.registered?.error, 'peer is not authorised as a seed peer')
    assert.equal(closed, true)
    assert.ok(!(await schedulerPeers()).includes(r.peerId))
    // the lab's real seed holds the seed token and is registered as one
    const seeds = (await fetchJson<any[]>(`${lab.endpoints!.scheduler.url}/api/v1/peers`)).filter((p) => p.seed)
    assert.deepEqual(seeds.map((s) => s.id), lab.endpoints!.seeds.map((s) => s.id))
  })

  it('should not accept a manifest or geometry from a peer that is not a seed', async () => {
    const url = `${origin.url}/held.bin?m=1`
    const taskId = taskIdFor({ url })
    const r = await rogue(TOKEN)
    const { replies } = await r.rawSession([
      { register: r.registration() },
      { announce: { taskId, url, headers: [], pieceLength: 0, digest: '', ...NO_TASK_KEY_PARTS } },
      { meta: { taskId, contentLength: 3 * MiB, pieceLength: MiB, url } },
      { pieces: { taskId, indexes: [0, 1, 2], digests: [0, 1, 2].map((index) => ({ index, digest: new Uint8Array(32).fill(7) })), parentId: '', costMs: 0 } }
    ], 1000)
    assert.equal(replies[0]?.registered?.error, '')
    const task = await fetchJson<any>(`${lab.endpoints!.scheduler.url}/api/v1/tasks/${taskId}`)
    assert.equal(task.contentLength, -1, 'a non-seed set the task geometry')
    assert.equal(task.manifestPieces, 0, 'a non-seed published piece digests')
  })

  it('should keep origin credentials and tokens out of logs, metrics, APIs and other peers\' messages', async () => {
    const eps = lab.endpoints!
    const url = `${origin.url}/private.bin`
    const want = await sha256File(join(dir, 'private.bin'))
    const results = await Promise.all(eps.peers.map(async (p, i) => await getVia(p, url, join(dir, `private-${i}.bin`), ['-H', `Authorization: Bearer ${SECRET}`])))
    for (let i = 0; i < results.length; i++) {
      assert.equal(results[i].ok, true, JSON.stringify(results[i]))
      assert.equal(await sha256File(join(dir, `private-${i}.bin`)), want)
    }
    // the seed did need the header: the origin refuses without it
    assert.ok(authSeen.with > 0)
    assert.equal(authSeen.without, 0)

    // another (authenticated) peer joining the same task learns nothing secret from the scheduler
    const r = await rogue(TOKEN)
    const taskId = taskIdFor({ url })
    await r.rawSession([{ register: r.registration() }, { announce: { taskId, url, headers: [], pieceLength: 0, digest: '', ...NO_TASK_KEY_PARTS } }], 1000)
    assert.ok(r.rawFromScheduler.length >= 2, 'the scheduler answered the announce')
    for (const frame of r.rawFromScheduler) assert.ok(!Buffer.from(frame).includes(SECRET), 'a secret reached another peer')

    const surfaces: string[] = [await labLogs(eps.logs)]
    for (const path of ['/api/v1/tasks', '/api/v1/peers', `/api/v1/tasks/${taskId}`]) surfaces.push(JSON.stringify(await fetchJson(`${eps.scheduler.url}${path}`)))
    for (const p of [...eps.peers, ...eps.seeds]) {
      surfaces.push(await (await fetch(p.metrics)).text())
      surfaces.push(JSON.stringify(await fetchJson(`${p.api}/api/v1/tasks`)))
      surfaces.push(JSON.stringify(await fetchJson(`${p.api}/api/v1/info`)))
    }
    surfaces.push(...results.map((x) => JSON.stringify(x)))
    const all = surfaces.join('\n')
    assert.ok(all.length > 1000, 'there was something to search')
    for (const [name, secret] of [['origin Authorization', SECRET], ['cluster token', TOKEN], ['seed token', SEED_TOKEN]]) {
      assert.ok(!all.includes(secret), `the ${name} appears in logs, metrics or an API`)
    }
  })

  it('should bind the local API, metrics, scheduler and libp2p to loopback by default', async () => {
    const eps = lab.endpoints!
    const urls = [eps.scheduler.url, ...eps.peers.flatMap((p) => [p.api, p.metrics]), ...eps.seeds.flatMap((s) => [s.api, s.metrics])]
    for (const u of urls) assert.equal(new URL(u).hostname, '127.0.0.1', u)
    const info = await fetchJson<any>(`${eps.scheduler.url}/api/v1/info`)
    for (const a of info.addrs as string[]) assert.match(a, /^\/ip4\/127\.0\.0\.1\//)
    for (const p of eps.peers) for (const a of (await fetchJson<any>(`${p.api}/api/v1/info`)).addrs as string[]) assert.match(a, /^\/ip4\/127\.0\.0\.1\//)
    // and the defaults themselves, not only what the lab passes
    for (const cmd of program().commands.filter((c) => ['daemon', 'seed', 'scheduler'].includes(c.name()))) {
      for (const flag of ['--host', '--p2p-host', '--api-host', '--metrics-host', '--proxy-host']) {
        const opt = cmd.options.find((o) => o.long === flag)
        // the daemons' --host is a deprecated alias of the three listener hosts: no default, or it would override them
        const want = flag === '--host' && cmd.name() !== 'scheduler' ? undefined : '127.0.0.1'
        if (opt != null) assert.equal(opt.defaultValue, want, `${cmd.name()} ${flag}`)
      }
    }
  })
})

describe('security: a scheduler started without a seed token', function () {
  this.timeout(120_000)
  const labs: Lab[] = []
  const dirs: string[] = []
  const rogues: RoguePeer[] = []
  after(async () => {
    for (const r of rogues) await r.stop()
    for (const l of labs) await l.stop()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  // a scheduler alone (no seed, no peer) as an operator who forgot `--seed-token` would start it
  async function schedulerOnly (extra: string[]): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'dfly-no-seed-token-'))
    dirs.push(dir)
    const lab = await startLab({ peers: 0, seeds: 0, token: TOKEN, dataDir: dir, schedulerArgs: ['--seed-token', '', ...extra] })
    labs.push(lab)
    return lab.endpoints!.scheduler.url
  }

  async function claimSeed (schedulerUrl: string): Promise<string | undefined> {
    const r = new RoguePeer({ schedulerUrl, token: TOKEN, claimSeed: true })
    await r.start()
    rogues.push(r)
    const { replies } = await r.rawSession([{ register: r.registration() }])
    return replies[0]?.registered?.error
  }

  it('should refuse every seed claim outside dev mode, and accept one only with --dev', async () => {
    assert.equal(await claimSeed(await schedulerOnly([])), 'peer is not authorised as a seed peer')
    // the same claim where the operator asked for lab mode: what the refusal above protects against
    assert.equal(await claimSeed(await schedulerOnly(['--dev'])), '')
  })
})
