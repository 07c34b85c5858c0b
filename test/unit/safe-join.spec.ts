import assert from 'node:assert/strict'
import { mkdtemp, rm, readdir, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve, sep } from 'node:path'
import { safeJoin, taskIdFor } from '@damselfly/utils'
import { UnsafePathError } from '@damselfly/types'
import { PieceStore } from '@damselfly/storage'
import { exportTo } from '@damselfly/task-engine'
import { writeRandomFile } from '@damselfly/testkit'
import { prng } from '../helpers/prng.js'

describe('path safety', () => {
  const root = resolve('/srv/out')

  it('should join ordinary relative names under the root', () => {
    assert.equal(safeJoin(root, 'model.safetensors'), join(root, 'model.safetensors'))
    assert.equal(safeJoin(root, 'a/b/c.bin'), join(root, 'a', 'b', 'c.bin'))
    assert.equal(safeJoin(root, './a//b/./c'), join(root, 'a', 'b', 'c'))
    assert.equal(safeJoin(root, 'weird..name'), join(root, 'weird..name'))
    assert.equal(safeJoin(root + sep, 'x'), join(root, 'x'))
  })

  it('should refuse names that escape the root or are absolute', () => {
    for (const bad of ['../x', '..', 'a/../../x', 'a/b/../../../x', '/etc/passwd', '//host/share', 'C:\\Windows\\x', 'c:x', '..\\x', 'a\\..\\..\\x', '', '.', 'a/..', 'x\0y']) {
      assert.throws(() => safeJoin(root, bad), UnsafePathError, JSON.stringify(bad))
    }
  })

  it('should never return a path outside the root for random names (fixed seed)', () => {
    const r = prng(0xbad9a7)
    const parts = ['..', '.', '/', '\\', 'a', 'b', '\0', 'C:', '~', '%2e%2e', '…', ' ', '//']
    let accepted = 0
    for (let i = 0; i < 20_000; i++) {
      let name = ''
      for (let n = 1 + r.int(8); n > 0; n--) name += parts[r.int(parts.length)]
      let out: string
      try { out = safeJoin(root, name) } catch (err) { assert.ok(err instanceof UnsafePathError); continue }
      accepted++
      assert.ok(out.startsWith(root + sep), `${JSON.stringify(name)} -> ${out}`)
    }
    assert.ok(accepted > 0)
  })

  it('should only accept hex task ids as store directories', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dfly-paths-'))
    try {
      const store = new PieceStore({ dataDir: dir })
      await store.start()
      for (const bad of ['../../etc', '..', '/tmp/x', 'AB'.repeat(32), 'ab/../../cd'.padEnd(64, 'a'), '']) {
        await assert.rejects(store.open(bad, 'http://x'), /invalid task id/, JSON.stringify(bad))
        assert.equal(await store.get(bad), undefined)
      }
      // a task id is always a hex digest, whatever the URL holds
      const id = taskIdFor({ url: 'http://x/../../etc/passwd?a=/..' })
      assert.match(id, /^[0-9a-f]{64}$/)
      await store.open(id, 'http://x')
      assert.deepEqual(await readdir(join(dir, 'tasks')), [id])
      await store.stop()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('should put the output exactly where it was asked for, through no temporary name outside its directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dfly-export-'))
    try {
      await writeRandomFile(join(dir, 'data'), 1000)
      await mkdir(join(dir, 'out'))
      const target = await exportTo(join(dir, 'data'), join(dir, 'out', 'sub', '..', 'f.bin'))
      assert.equal(target, join(dir, 'out', 'f.bin'))
      assert.deepEqual(await readdir(join(dir, 'out')), ['f.bin'])
      assert.deepEqual((await readdir(dir)).sort(), ['data', 'out'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
