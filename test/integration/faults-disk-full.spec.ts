import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sha256File } from '@damselfly/testkit'
import { startLab, type Lab } from '@damselfly/cli'
import { withLab } from '../helpers/fixtures.js'
import { Bitfield, pieceCount, pieceRange } from '@damselfly/utils'
import { getVia, CLI, type GetResult } from '@damselfly/cli'
import { keepLogsOnFailure } from '../helpers/faults.js'

const run = promisify(execFile)
const MiB = 1024 * 1024
const SIZE = 16 * MiB + 321
const PL = MiB
const GET_ARGS = ['--piece-length', String(PL)]

async function mount (dir: string, size: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
}

async function umount (dir: string): Promise<void> {
  await run('umount', ['-l', dir]).catch(() => {})
}

async function filesUnder (dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name))
}

describe('faults: disk full', function () {
  this.timeout(120_000)
  // the lab starts inside a test, on a disk mounted there: only the origin comes from the fixture
  let lab: Lab | undefined
  const mounts: string[] = []
  // registered ahead of the fixture: a skip here skips its setup, and the mounts go before its dir does
  before(function () { if (process.getuid?.() !== 0) this.skip() }) // mounting a tmpfs needs root (CI runs as root)
  afterEach(async function () { await keepLogsOnFailure(this, lab?.endpoints?.logs) })
  after(async () => {
    await lab?.stop()
    for (const m of mounts.reverse()) await umount(m)
  })
  const f = withLab({ name: 'disk-full', files: { 'blob.bin': SIZE }, aliases: { '/standalone.bin': 'blob.bin' } })

  it('should fail standalone with a clear error and leave nothing behind when its temporary space fills up', async () => {
    const small = join(f.dir, 'small-tmp')
    await mount(small, '8m')
    mounts.push(small)
    // standalone `get` keeps its pieces under TMPDIR; the output itself goes to a roomy disk
    const { stdout } = await run(process.execPath, [CLI, 'get', f.url('standalone.bin'), '-O', join(f.dir, 'standalone.bin'), '--api', 'http://127.0.0.1:9', '--json', ...GET_ARGS], { env: { ...process.env, TMPDIR: small } }).catch((err) => err)
    const r = JSON.parse(String(stdout).trim().split('\n').pop()!) as GetResult
    assert.equal(r.ok, false)
    assert.match(r.error?.message ?? '', /ENOSPC/)
    await assert.rejects(stat(join(f.dir, 'standalone.bin')), { code: 'ENOENT' })
    assert.deepEqual(await filesUnder(small), [], 'temporary pieces left on the full disk')
  })

  it('should fail with a clear error, keep its store consistent and resume once there is room again', async () => {
    const data = join(f.dir, 'peer-disk')
    await mount(data, '8m')
    mounts.push(data)
    lab = await startLab({ peers: 1, peerArgs: ['--data-dir', join(data, 'peer')], dataDir: join(f.dir, 'lab') })
    const peer = lab.endpoints!.peers[0]
    const url = f.url('blob.bin')
    const r = await getVia(peer, url, join(f.dir, 'out.bin'), GET_ARGS)
    assert.equal(r.ok, false, JSON.stringify(r))
    assert.match(r.error?.message ?? '', /ENOSPC/)
    await assert.rejects(stat(join(f.dir, 'out.bin')), { code: 'ENOENT' }, 'a partial file appeared under the output name')
    assert.deepEqual((await readdir(f.dir)).filter((n) => n.endsWith('.tmp')), [])

    // every piece the store lists as held is really there, byte for byte
    // (the disk may have filled before the bookkeeping was ever saved: then the store lists nothing, which is consistent too)
    const tasks = join(data, 'peer', 'tasks')
    const [taskId] = await readdir(tasks)
    const meta = JSON.parse(await readFile(join(tasks, taskId, 'meta.json'), 'utf8').catch(() => JSON.stringify({ contentLength: SIZE, pieceLength: PL, have: '' })))
    const have = Bitfield.fromBase64(pieceCount(meta.contentLength, meta.pieceLength), meta.have)
    assert.ok(have.cardinality < have.size, `held ${have.cardinality} of ${have.size} pieces on an 8 MiB disk`)
    const want = await readFile(join(f.dir, 'blob.bin'))
    const fh = await open(join(tasks, taskId, 'data'))
    for (const i of have.indexes()) {
      const { offset, length } = pieceRange(i, meta.contentLength, meta.pieceLength)
      const buf = Buffer.alloc(length)
      await fh.read(buf, 0, length, offset)
      assert.ok(buf.equals(want.subarray(offset, offset + length)), `piece ${i} is listed but its bytes are wrong`)
    }
    await fh.close()

    await run('mount', ['-o', 'remount,size=64m', data])
    const again = await getVia(peer, url, join(f.dir, 'out.bin'), GET_ARGS)
    assert.equal(again.ok, true, JSON.stringify(again))
    assert.equal(await sha256File(join(f.dir, 'out.bin')), f.sha['blob.bin'])
    const fetched = again.bytesFromOrigin + again.bytesFromSeed + again.bytesFromPeers
    assert.ok(fetched <= SIZE - have.cardinality * PL, `fetched ${fetched} bytes again`)
  })

  it('should leave no partial file when the output disk is full', async () => {
    const outDisk = join(f.dir, 'out-disk')
    await mount(outDisk, '4m')
    mounts.push(outDisk)
    const peer = lab!.endpoints!.peers[0]
    const r = await getVia(peer, f.url('blob.bin'), join(outDisk, 'out.bin'), GET_ARGS)
    assert.equal(r.ok, false, JSON.stringify(r))
    assert.match(r.error?.message ?? '', /ENOSPC/)
    assert.deepEqual(await filesUnder(outDisk), [], 'a partial or temporary file was left on the full disk')
  })
})
