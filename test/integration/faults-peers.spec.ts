import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { PieceStore } from '@damselfly/storage'
import { taskIdFor, blake3, initBlake3 } from '@damselfly/utils'
import { join } from 'node:path'
import { sha256File } from '@damselfly/testkit'
import { startLab, type Lab } from '@damselfly/cli'
import { withLab } from '../helpers/fixtures.js'
import { getVia } from '@damselfly/cli'
import { fetchJson, metric } from '@damselfly/testkit'
import { waitFor, waitForProgress, storedPieces, keepLogsOnFailure } from '../helpers/faults.js'

const MiB = 1024 * 1024
const SIZE = 24 * MiB + 777
const PL = MiB
/** small pieces and a slow origin make "mid-download" a window of seconds, not milliseconds */
const GET_ARGS = ['--piece-length', String(PL)]
const PEER_ARGS = ['--stall-timeout', '4000', '--piece-timeout', '3000', '--origin-timeout', '3000']

describe('faults: peers, seeds, scheduler and daemons dying mid-download', function () {
  this.timeout(120_000)
  // a lab per test (each kills part of it); the origin serves one file under a name per test
  let lab: Lab | undefined
  const f = withLab({
    name: 'faults-peers',
    files: { 'blob.bin': SIZE },
    aliases: Object.fromEntries(['parent', 'seed', 'sched', 'sched-down', 'resume', 'relayout'].map((n) => [`/${n}.bin`, 'blob.bin'])),
    origin: { rateBytesPerSec: 6 * MiB }
  })

  afterEach(async function () {
    await lab?.stop()
    await keepLogsOnFailure(this, lab?.endpoints?.logs)
    lab = undefined
  })

  async function assertSame (file: string): Promise<void> {
    assert.equal(await sha256File(file), f.sha['blob.bin'], `${file} differs from the origin's bytes`)
  }

  it('should let children finish from other parents when a parent peer is SIGKILLed', async () => {
    lab = await startLab({ peers: 3, peerArgs: PEER_ARGS, dataDir: join(f.dir, 'lab-parent') })
    const eps = lab.endpoints!
    const url = f.url('parent.bin')
    const gets = eps.peers.map((p, i) => getVia(p, url, join(f.dir, `parent-${i}.bin`), GET_ARGS))
    // kill a peer only once it is really someone's parent and holds pieces; which peer that is
    // depends on who announced first (the parent graph is a DAG ordered by arrival)
    const victimId = await waitFor('a peer to be a parent holding pieces', async () => {
      const tasks = await fetchJson<any[]>(`${eps.scheduler.url}/api/v1/tasks`)
      const t = tasks[0]
      if (t == null) return undefined
      const v = t.peers.find((m: any) => !m.seed && m.pieces >= 3 && t.peers.some((c: any) => c.id !== m.id && c.parents.includes(m.id)))
      return v?.id as string | undefined
    }, 60_000, 20)
    const victim = eps.peers.findIndex((p) => p.id === victimId)
    assert.ok(victim >= 0, `parent ${victimId} is not one of the lab's peers`)
    lab.process(eps.peers[victim].pid)!.kill('SIGKILL')
    const results = await Promise.all(gets)
    for (let i = 0; i < results.length; i++) {
      if (i === victim) continue
      const r = results[i]
      assert.equal(r.ok, true, JSON.stringify(r))
      assert.equal(r.bytesFromOrigin, 0, `peer ${i} had to go to the origin`)
      await assertSame(join(f.dir, `parent-${i}.bin`))
    }
  })

  it('should finish when the seed peer is SIGKILLed mid-download (another seed takes over)', async () => {
    lab = await startLab({ peers: 2, seeds: 2, peerArgs: PEER_ARGS, seedArgs: PEER_ARGS, dataDir: join(f.dir, 'lab-seed') })
    const eps = lab.endpoints!
    const url = f.url('seed.bin')
    const started = Date.now()
    const gets = eps.peers.map((p, i) => getVia(p, url, join(f.dir, `seed-${i}.bin`), GET_ARGS))
    const first = await waitFor('the seed to hold a few pieces', async () => {
      const t = (await fetchJson<any[]>(`${eps.scheduler.url}/api/v1/tasks`))[0]
      const s = t?.peers.find((m: any) => m.id === t.seedPeer)
      return s?.pieces >= 4 ? t.seedPeer as string : undefined
    }, 60_000, 20)
    lab.process(eps.seeds.find((s) => s.id === first)!.pid)!.kill('SIGKILL')
    const results = await Promise.all(gets)
    for (let i = 0; i < results.length; i++) {
      assert.equal(results[i].ok, true, JSON.stringify(results[i]))
      await assertSame(join(f.dir, `seed-${i}.bin`))
    }
    const t = (await fetchJson<any[]>(`${eps.scheduler.url}/api/v1/tasks`))[0]
    const tookOver = t.seedPeer !== first
    const wentToSource = results.some((r) => r.bytesFromOrigin > 0)
    assert.ok(tookOver || wentToSource, 'neither another seed nor the origin finished the task')
    // no stall: a full origin pass at the capped rate takes ~4 s; allow the stall timer and one retry on top
    assert.ok(Date.now() - started < 45_000, `took ${Date.now() - started} ms`)
  })

  it('should finish downloads when the scheduler is killed and restarted mid-download', async () => {
    lab = await startLab({ peers: 2, peerArgs: PEER_ARGS, seedArgs: PEER_ARGS, dataDir: join(f.dir, 'lab-sched') })
    const eps = lab.endpoints!
    const url = f.url('sched.bin')
    const gets = eps.peers.map((p, i) => getVia(p, url, join(f.dir, `sched-${i}.bin`), GET_ARGS))
    await waitForProgress(eps.peers[0].api, 3 * MiB)
    const before = f.origin.bytesServed
    await lab.restartScheduler(1000)
    const results = await Promise.all(gets)
    for (let i = 0; i < results.length; i++) {
      assert.equal(results[i].ok, true, JSON.stringify(results[i]))
      await assertSame(join(f.dir, `sched-${i}.bin`))
    }
    // everyone re-registered with the new scheduler
    const peers = await waitFor('peers to re-register', async () => {
      const list = await fetchJson<any[]>(`${eps.scheduler.url}/api/v1/peers`)
      return list.length === 3 ? list : undefined
    }, 20_000)
    assert.equal(peers.filter((p: any) => p.seed).length, 1)
    // the restart must not have sent the whole task back to the origin once per peer
    assert.ok(f.origin.bytesServed - before <= 2 * SIZE, `origin served ${f.origin.bytesServed - before} bytes after the restart`)
  })

  // heartbeats every second here (10 s by default): either end gives up on a session after 3 silent ones
  const HEARTBEAT_ARGS = ['--heartbeat-seconds', '1']

  it('should drop a peer whose session goes silent (a frozen host) and take it back once it answers again', async () => {
    lab = await startLab({ peers: 2, dataDir: join(f.dir, 'lab-silent'), schedulerArgs: HEARTBEAT_ARGS })
    const eps = lab.endpoints!
    const [frozen, alive] = eps.peers
    const listed = async (): Promise<string[]> => (await fetchJson<Array<{ id: string }>>(`${eps.scheduler.url}/api/v1/peers`)).map((p) => p.id)
    const silentSessions = async (): Promise<number> => metric(await (await fetch(`${eps.scheduler.url}/metrics`)).text(), 'damselfly_scheduler_silent_sessions_total')
    await waitFor('every daemon to register', async () => (await listed()).length === 3, 20_000)
    assert.equal(await silentSessions(), 0)
    // no FIN, no RST: the process stops answering, as when its host hangs or its link is cut
    process.kill(frozen.pid, 'SIGSTOP')
    try {
      await waitFor('the scheduler to drop the silent peer', async () => !(await listed()).includes(frozen.id), 30_000, 100)
      assert.ok((await listed()).includes(alive.id), 'a peer that kept answering heartbeats was dropped too')
      assert.equal(await silentSessions(), 1)
    } finally {
      process.kill(frozen.pid, 'SIGCONT')
    }
    // its session was closed under it: it notices, connects again and registers
    await waitFor('the peer to register again', async () => (await listed()).includes(frozen.id), 30_000, 100)
  })

  it('should leave a scheduler that goes silent (a frozen host) and register again once it answers', async () => {
    lab = await startLab({ peers: 1, dataDir: join(f.dir, 'lab-silent-scheduler'), schedulerArgs: HEARTBEAT_ARGS })
    const eps = lab.endpoints!
    const ready = async (): Promise<number> => (await fetch(`${eps.peers[0].api}/readyz`)).status
    await waitFor('the peer to register', async () => await ready() === 200, 20_000, 100)
    // the connection stays up (no FIN, no RST): only the missing heartbeats tell the peer
    process.kill(eps.scheduler.pid, 'SIGSTOP')
    try {
      await waitFor('the peer to give up on the silent scheduler', async () => await ready() === 503, 30_000, 100)
    } finally {
      process.kill(eps.scheduler.pid, 'SIGCONT')
    }
    await waitFor('the peer to register again', async () => await ready() === 200, 30_000, 100)
    const peers = await fetchJson<Array<{ id: string }>>(`${eps.scheduler.url}/api/v1/peers`)
    assert.ok(peers.some((p) => p.id === eps.peers[0].id), 'the peer is not registered again')
  })

  it('should still complete a get from the origin while the scheduler is down', async () => {
    lab = await startLab({ peers: 1, peerArgs: PEER_ARGS, dataDir: join(f.dir, 'lab-down') })
    const eps = lab.endpoints!
    await lab.killScheduler()
    // the peer has noticed: it reports not ready once its scheduler session is gone
    await waitFor('the peer to lose its scheduler', async () => (await fetch(`${eps.peers[0].api}/readyz`)).status === 503, 20_000)
    const r = await getVia(eps.peers[0], f.url('sched-down.bin'), join(f.dir, 'down.bin'), GET_ARGS)
    assert.equal(r.ok, true, JSON.stringify(r))
    assert.equal(r.bytesFromOrigin, SIZE)
    await assertSame(join(f.dir, 'down.bin'))
  })

  it('should resume from verified pieces after the daemon is SIGKILLed and restarted', async () => {
    lab = await startLab({ peers: 1, peerArgs: PEER_ARGS, seedArgs: PEER_ARGS, dataDir: join(f.dir, 'lab-resume') })
    const eps = lab.endpoints!
    const url = f.url('resume.bin')
    const peer = eps.peers[0]
    const first = getVia(peer, url, join(f.dir, 'resume.bin'), GET_ARGS)
    await waitForProgress(peer.api, 8 * MiB)
    // the store's bookkeeping is flushed a little after the pieces: wait until disk records some, as a daemon that crashes later would have
    await waitFor('verified pieces on disk', async () => ([...(await storedPieces(peer.dataDir)).values()][0] ?? 0) >= 4, 20_000)
    const restarted = await lab.restartPeer(peer.pid)
    const r0 = await first
    assert.equal(r0.ok, false, 'the first get cannot have succeeded: its daemon was killed')
    const held = [...(await storedPieces(peer.dataDir)).values()][0] ?? 0
    assert.ok(held >= 4, `only ${held} verified pieces survived the crash`)
    const r = await getVia(restarted, url, join(f.dir, 'resume.bin'), GET_ARGS)
    assert.equal(r.ok, true, JSON.stringify(r))
    await assertSame(join(f.dir, 'resume.bin'))
    const fetched = r.bytesFromOrigin + r.bytesFromSeed + r.bytesFromPeers
    assert.ok(fetched <= SIZE - held * PL, `fetched ${fetched} bytes again though ${held} pieces (${held * PL} bytes) were on disk`)
    assert.deepEqual((await readdir(f.dir)).filter((n) => n.endsWith('.tmp')), [])
  })

  it('should start over a partial task held in another piece length than the swarm\'s (kept across a change of the rule)', async () => {
    lab = await startLab({ peers: 1, peerArgs: PEER_ARGS, seedArgs: PEER_ARGS, dataDir: join(f.dir, 'lab-relayout') })
    const url = f.url('relayout.bin')
    const peer = lab.endpoints!.peers[0]
    // what an older daemon left: 1 MiB pieces, three of them "verified" (garbage: if they were kept,
    // the output could not match); the seed cuts this file by today's rule (4 MiB pieces)
    await initBlake3()
    const taskId = taskIdFor({ url })
    const store = new PieceStore({ dataDir: peer.dataDir })
    await store.start()
    const old = await store.open(taskId, url)
    await old.initialise(SIZE, MiB)
    for (const i of [0, 1, 5]) { const junk = randomBytes(MiB); await old.writePiece(i, junk, blake3(junk)) }
    await store.stop()
    // the daemon finds it on disk when it starts
    const restarted = await lab.restartPeer(peer.pid)
    assert.equal((await storedPieces(restarted.dataDir)).get(taskId), 3)
    const r = await getVia(restarted, url, join(f.dir, 'relayout.bin'))
    assert.equal(r.ok, true, JSON.stringify(r))
    await assertSame(join(f.dir, 'relayout.bin'))
    const meta = JSON.parse(await readFile(join(restarted.dataDir, 'tasks', taskId, 'meta.json'), 'utf8'))
    assert.equal(meta.pieceLength, 4 * MiB)
  })
})
