import assert from 'node:assert/strict'
import { access } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { sha256File, metric, scrape, waitFor } from '@damselfly/testkit'
import { taskIdFor, FrameReader, lengthPrefixed, silentLogger, sendWithBackpressure } from '@damselfly/utils'
import { NO_TASK_KEY_PARTS, SCHEDULER_PROTOCOL, FailureKind, PieceRequest, PieceResponse, PieceStatus, PeerMessage, SchedulerMessage } from '@damselfly/proto'
import { PIECE_PROTOCOL } from '@damselfly/piece-exchange'
import { SchedulerClient } from '@damselfly/scheduler-client'
import { createNode, listenAddrs } from '@damselfly/task-engine'
import { getVia } from '@damselfly/cli'
import { fetchJson } from '@damselfly/testkit'
import { RoguePeer } from '../helpers/rogue-peer.js'
import { withLab, uploadedByTransport } from '../helpers/fixtures.js'
import type { Libp2p, Stream } from '@libp2p/interface'

const MiB = 1024 * 1024
const TOKEN = `cluster-${randomBytes(8).toString('hex')}`
const SECRET = `secret-${randomBytes(8).toString('hex')}`

/**
 * Attacks from inside the swarm (security issue #14, part B): each must fail.
 * A real lab (scheduler, seed, peers as processes) with a cluster token, and
 * rogue libp2p peers / fake servers on loopback.
 */
describe('security: trust inside the swarm', function () {
  this.timeout(180_000)
  const rogues: RoguePeer[] = []
  const nodes: Libp2p[] = []
  const servers: Server[] = []

  after(async () => {
    for (const r of rogues) await r.stop().catch(() => {})
    for (const n of nodes) await Promise.resolve(n.stop()).catch(() => {})
    for (const s of servers) s.close()
  })
  const f = withLab({
    name: 'sec-swarm',
    files: { 'public.bin': 9 * MiB + 7, 'private.bin': 5 * MiB + 3 },
    lab: { peers: 2, pools: ['edge-a', 'edge-b'], token: TOKEN, peerArgs: ['--data-channel', 'tcp'] },
    origin: {
      intercept: (req, res, path) => {
        if (path === '/private.bin' && req.headers.authorization !== `Bearer ${SECRET}`) {
          res.writeHead(401, { 'www-authenticate': 'Bearer realm="test"' }).end('unauthorised')
          return true
        }
        return false
      }
    }
  })

  async function rogue (init: Partial<ConstructorParameters<typeof RoguePeer>[0]> = {}): Promise<RoguePeer> {
    const r = new RoguePeer({ schedulerUrl: f.lab.endpoints!.scheduler.url, token: TOKEN, ...init })
    await r.start()
    rogues.push(r)
    return r
  }

  it('should refuse a scheduler whose identity is not the pinned one, and an unpinned one outside dev mode', async () => {
    // a fake "scheduler": its info URL names an identity of its own, reachable on libp2p
    const fake = await createNode({ clusterToken: TOKEN })
    await fake.start()
    nodes.push(fake)
    await fake.handle(SCHEDULER_PROTOCOL, (stream) => { stream.abort(new Error('fake')) })
    const info = createServer((_req, res) => { res.end(JSON.stringify({ peerId: fake.peerId.toString(), addrs: listenAddrs(fake) })) })
    info.listen(0, '127.0.0.1')
    await once(info, 'listening')
    servers.push(info)
    const url = `http://127.0.0.1:${(info.address() as any).port}`
    const node = await createNode({ clusterToken: TOKEN })
    await node.start()
    nodes.push(node)
    const register = (): any => ({ addrs: [], pool: 'x', idc: '', hostname: '', seed: false, uploadSlots: 1, token: TOKEN, tasks: [] })
    const pinned = new SchedulerClient(node, { url: `${url}/p2p/${f.lab.endpoints!.scheduler.peerId}`, log: silentLogger(), register, minBackoffMs: 60_000 })
    await pinned.start()
    await assert.rejects(pinned.waitConnected(3000))
    assert.equal(pinned.schedulerId, undefined, 'registered with a scheduler that is not the pinned one')
    await pinned.stop()
    assert.throws(() => new SchedulerClient(node, { url, log: silentLogger(), register }), /not pinned.*\/p2p\/<peer id>/s)
  })

  it('should keep a rogue libp2p node without the cluster token from asking a peer for pieces', async () => {
    const url = f.url('public.bin')
    const r = await getVia(f.lab.endpoints!.peers[0], url, join(f.dir, 'out-0.bin'))
    assert.equal(r.ok, true)
    const peer = f.lab.endpoints!.peers[0]
    const info = await fetchJson<any>(`${peer.api}/api/v1/info`)
    const addrs = (info.addrs as string[] ?? []).map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${peer.id}`))
    assert.ok(addrs.length > 0, 'the peer lists its libp2p addresses')
    // outsider: no private-network key, no connection at all
    const outsider = await createNode({})
    await outsider.start()
    nodes.push(outsider)
    await assert.rejects(outsider.dialProtocol(addrs, PIECE_PROTOCOL, { signal: AbortSignal.timeout(8000) }))
    // a member (it has the token) that the scheduler never admitted to this task: no grant, no bytes
    const member = await createNode({ clusterToken: TOKEN })
    await member.start()
    nodes.push(member)
    const stream = await member.dialProtocol(addrs, PIECE_PROTOCOL, { signal: AbortSignal.timeout(8000) })
    stream.send(lengthPrefixed(PieceRequest.encode({ taskId: taskIdFor({ url }), index: 0, grant: new Uint8Array(0) })))
    const head = await new FrameReader(stream, 1024).readFrame(64)
    assert.ok(head != null)
    assert.equal(PieceResponse.decode(head).status, PieceStatus.FORBIDDEN)
    await stream.close().catch(() => {})
  })

  it('should refuse an announce whose task id is not its URL\'s', async () => {
    const victim = `${f.origin.url}/public.bin?victim=1`
    const victimId = taskIdFor({ url: victim })
    const r = await rogue()
    const { replies } = await r.rawSession([
      { register: r.registration() },
      { announce: { taskId: victimId, url: `${f.origin.url}/private.bin?mine=1`, headers: [], pieceLength: 0, digest: '', ...NO_TASK_KEY_PARTS } }
    ], 1500)
    assert.equal(replies[0]?.registered?.error, '')
    assert.match(replies.find((m) => m.update != null)?.update?.error ?? '', /task id does not match/)
    const tasks = await fetchJson<any[]>(`${f.lab.endpoints!.scheduler.url}/api/v1/tasks`)
    assert.equal(tasks.find((t: any) => t.id === victimId), undefined, 'the mismatched announce created the task')
  })

  it('should not block the seed on one child\'s repeated mismatch reports', async () => {
    const url = `${f.origin.url}/public.bin?reports=1`
    const taskId = taskIdFor({ url })
    const r = await rogue()
    await r.connect()
    r.client!.send({ announce: { taskId, url, headers: [], pieceLength: 0, digest: '', ...NO_TASK_KEY_PARTS } })
    const seedId = f.lab.endpoints!.seeds[0].id
    await waitFor('the seed as a parent', async () => r.updates.some((u) => u.taskId === taskId && u.parents.some((p) => p.peerId === seedId)))
    for (let i = 0; i < 5; i++) r.client!.send({ failure: { taskId, parentId: seedId, index: i, kind: FailureKind.DIGEST_MISMATCH, message: 'lies' } })
    await waitFor('the reports to land', async () => (await fetchJson<any>(`${f.lab.endpoints!.scheduler.url}/api/v1/peers`)).find((p: any) => p.id === seedId)?.failures >= 5)
    const task = await fetchJson<any>(`${f.lab.endpoints!.scheduler.url}/api/v1/tasks/${taskId}`)
    assert.deepEqual(task.blocked, [], 'one child blocked the seed for everyone')
    // a real peer still gets the file from the seed
    const out = join(f.dir, 'reports.bin')
    const got = await getVia(f.lab.endpoints!.peers[1], url, out)
    assert.equal(got.ok, true)
    assert.equal(await sha256File(out), f.sha['public.bin'])
  })

  it('should refuse a seed claim from a peer without the seed token', async () => {
    const r = await rogue({ claimSeed: true })
    const { replies } = await r.rawSession([{ register: r.registration() }])
    assert.equal(replies[0]?.registered?.error, 'peer is not authorised as a seed peer')
  })

  it('should answer a request without the Authorization a URL needs with the origin\'s 401, through another peer that holds it', async () => {
    const url = f.url('private.bin')
    const a = await getVia(f.lab.endpoints!.peers[0], url, join(f.dir, 'private-a.bin'), ['-H', `Authorization: Bearer ${SECRET}`])
    assert.equal(a.ok, true, JSON.stringify(a))
    const out = join(f.dir, 'private-b.bin')
    const b = await getVia(f.lab.endpoints!.peers[1], url, out)
    assert.equal(b.ok, false)
    assert.match(JSON.stringify(b), /401/)
    await assert.rejects(access(out), 'a file was written for a requester the origin refused')
  })

  it('should refuse a registry blob requested with a spoofed X-Dragonfly-Registry', async () => {
    // the attacker's "registry" says yes to everything
    const evil = createServer((_req, res) => { res.writeHead(200, { 'content-length': '1' }).end('x') })
    evil.listen(0, '127.0.0.1')
    await once(evil, 'listening')
    servers.push(evil)
    const digest = `sha256:${'ab'.repeat(32)}`
    const res = await fetch(`${f.lab.endpoints!.peers[0].proxy!}/v2/private/app/blobs/${digest}`, { headers: { 'x-dragonfly-registry': `127.0.0.1:${(evil.address() as any).port}` } })
    assert.equal(res.status, 403)
    await res.body?.cancel()
  })

  it('should carry pieces between node pools over TLS even where plain TCP is allowed inside a pool', async () => {
    const url = `${f.origin.url}/public.bin?pools=1`
    const [a, b] = f.lab.endpoints!.peers
    assert.notEqual(a.pool, b.pool)
    assert.equal((await getVia(a, url, join(f.dir, 'pool-a.bin'))).ok, true)
    assert.equal((await getVia(b, url, join(f.dir, 'pool-b.bin'))).ok, true)
    // every daemon is in a pool of its own (cloud, edge-a, edge-b): every piece they served crossed pools
    const sum = await uploadedByTransport(f.lab)
    assert.ok(sum('tls') > 0, 'no piece bytes over TLS')
    assert.equal(sum('tcp'), 0, 'piece bytes crossed pools in plain TCP')
  })

  it('should keep the scheduler\'s memory bounded under oversized first frames', async () => {
    const pid = f.lab.endpoints!.scheduler.pid
    const rss = async (): Promise<number> => Number(/VmRSS:\s+(\d+)/.exec(await (await import('node:fs/promises')).readFile(`/proc/${pid}/status`, 'utf8'))![1]) * 1024
    const before = await rss()
    const r = await rogue()
    const addrs = (await fetchJson<any>(`${f.lab.endpoints!.scheduler.url}/api/v1/info`)).addrs.map((a: string) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${f.lab.endpoints!.scheduler.peerId}`))
    const big = lengthPrefixed(PeerMessage.encode({ register: { ...r.registration(), hostname: 'x'.repeat(8 * MiB - 1024) } }))
    const streams: Stream[] = []
    for (let i = 0; i < 8; i++) {
      const s = await r.node.dialProtocol(addrs, SCHEDULER_PROTOCOL, { signal: AbortSignal.timeout(8000) }).catch(() => undefined)
      if (s == null) continue
      streams.push(s)
      try { s.send(big) } catch {}
    }
    assert.ok(streams.length > 0, 'no session to flood')
    // the scheduler refuses each at its length prefix (64 KiB at most before a registration): it ends every session
    await waitFor('the scheduler to end every oversized session', async () => streams.every((s) => s.status !== 'open'))
    const after = await rss()
    assert.ok(after - before < 48 * MiB, `scheduler RSS grew by ${((after - before) / MiB).toFixed(1)} MiB`)
    assert.ok((await fetchJson<any>(`${f.lab.endpoints!.scheduler.url}/healthz`)).ok)
  })

  it('should refuse a registered peer\'s tasks past its quota, and keep its RSS bounded under a flood of tasks and holdings', async () => {
    const sched = f.lab.endpoints!.scheduler
    const rss = async (): Promise<number> => metric(await scrape(`${sched.url}/metrics`), 'process_resident_memory_bytes')
    const peerTasks = async (id: string): Promise<number> => (await fetchJson<any[]>(`${sched.url}/api/v1/peers`)).find((p: any) => p.id === id)?.tasks ?? -1
    const addrs = (await fetchJson<any>(`${sched.url}/api/v1/info`)).addrs.map((a: string) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${sched.peerId}`))
    /** a registered session that sends `frames` as fast as the scheduler takes them */
    const flood = async (r: RoguePeer, frames: Iterable<Partial<PeerMessage>>): Promise<{ errors: string[] }> => {
      const stream = await r.node.dialProtocol(addrs, SCHEDULER_PROTOCOL, { signal: AbortSignal.timeout(8000) })
      const errors: string[] = []
      // the replies are read (and counted) so the scheduler is never held up by a full stream
      const reading = (async () => {
        const reader = new FrameReader(stream, 8 * MiB)
        while (true) {
          const f = await reader.readFrame(8 * MiB).catch(() => null)
          if (f == null) break
          const m = SchedulerMessage.decode(f)
          if (m.update?.error != null && m.update.error !== '') errors.push(m.update.error)
        }
      })()
      await sendWithBackpressure(stream, lengthPrefixed(PeerMessage.encode({ register: r.registration() })))
      for (const m of frames) await sendWithBackpressure(stream, lengthPrefixed(PeerMessage.encode(m)))
      return { errors, reading, stream } as any
    }
    const before = await rss()
    let peak = before

    // 1. holdings with big bitfields (256 KiB each, 250 MiB in all: more than the bound below),
    // for tasks whose geometry is unknown (so the scheduler cannot size them)
    const holder = await rogue()
    const HOLDINGS = 1000
    const have = new Uint8Array(MiB / 4).fill(0xff)
    // paced by the scheduler's own count (a sender that outruns a paused stream is cut off by
    // its read-buffer limit, which would end the attack before it is measured)
    const h = await flood(holder, []) as any
    for (let i = 0; i < HOLDINGS; i++) {
      const tasks = [0].map((k) => ({
        taskId: 'cd'.repeat(24) + (i + k).toString(16).padStart(16, '0'),
        have,
        meta: { taskId: '', contentLength: 8 * MiB * 8, pieceLength: 1, url: '' },
        done: true
      }))
      await sendWithBackpressure(h.stream, lengthPrefixed(PeerMessage.encode({ register: { ...holder.registration(), tasks } })))
      // a few frames in flight at most: the rogue's own private-network cipher (xsalsa20, WASM)
      // cannot take a coalesced send of many megabytes
      if (i % 4 === 3) await waitFor('the holdings to land', async () => await peerTasks(holder.peerId) >= i + 1, 30_000)
    }
    await waitFor('the holdings to land', async () => await peerTasks(holder.peerId) >= HOLDINGS, 30_000)
    peak = Math.max(peak, await rss())

    // 2. many thousands of announces (each valid: its task id is its URL's); the URLs go nowhere, so the seed's attempts end at once
    const announcer = await rogue()
    const N = 3000
    const announces = function * (): Generator<Partial<PeerMessage>> {
      for (let i = 0; i < N; i++) {
        const url = `http://127.0.0.1:9/flood/${i}`
        yield { announce: { taskId: taskIdFor({ url }), url, headers: [], pieceLength: 0, digest: '', ...NO_TASK_KEY_PARTS } }
      }
    }
    const a = await flood(announcer, announces()) as any
    const quota = `too many tasks for one peer (1024)`
    await waitFor('every announce past the quota to be refused', async () => a.errors.filter((e: string) => e === quota).length >= N - 1024, 120_000)
    assert.equal(await peerTasks(announcer.peerId), 1024, 'the peer holds more tasks than its quota')
    peak = Math.max(peak, await rss())

    assert.ok((await fetchJson<any>(`${sched.url}/healthz`)).ok)
    assert.equal(f.lab.process(sched.pid)?.exitCode, null, 'the scheduler died')
    assert.ok(peak < 300 * MiB, `scheduler RSS reached ${(peak / MiB).toFixed(0)} MiB (from ${(before / MiB).toFixed(0)} MiB)`)
    // leaving frees what the flood made the scheduler hold: the peers, and the tasks only they were in
    // (the announced ones keep the seed as a member: idle tasks, evicted first at the scheduler's task limit)
    for (const x of [a, h]) { await x.stream.close().catch(() => { x.stream.abort(new Error('done')) }); await x.reading }
    await waitFor('the flood\'s peers and holdings to be forgotten', async () => {
      const peers = await fetchJson<any[]>(`${sched.url}/api/v1/peers`)
      const tasks = await fetchJson<any[]>(`${sched.url}/api/v1/tasks`)
      return !peers.some((p: any) => p.id === holder.peerId || p.id === announcer.peerId) && !tasks.some((t: any) => t.id.startsWith('cd'.repeat(24)))
    }, 60_000)
  })
})

