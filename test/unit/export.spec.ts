import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { exportTo } from '@damselfly/task-engine'

describe('exporting a finished task to -O', () => {
  let dir: string
  let data: string
  const content = randomBytes(256 * 1024 + 7)
  const sha256 = `sha256:${createHash('sha256').update(content).digest('hex')}`
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfly-export-'))
    data = join(dir, 'cache-data')
    await writeFile(data, content)
  })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('should hard-link the cached content on the same filesystem (no copy)', async () => {
    const out = await exportTo(data, join(dir, 'out', 'file.bin'), { digest: sha256 })
    const [a, b] = await Promise.all([stat(data), stat(out)])
    assert.equal(b.ino, a.ino)
    assert.equal(a.nlink, 2)
    assert.deepEqual(await readFile(out), content)
    assert.deepEqual((await readdir(join(dir, 'out'))), ['file.bin'], 'no temporary file left')
  })

  it('should copy when hard links are turned off', async () => {
    const out = await exportTo(data, join(dir, 'copy.bin'), { hardLink: false })
    assert.notEqual((await stat(out)).ino, (await stat(data)).ino)
    assert.deepEqual(await readFile(out), content)
  })

  it('should export again over an output that already is the same link', async () => {
    const target = join(dir, 'o', 'again.bin')
    await exportTo(data, target)
    await exportTo(data, target)
    assert.deepEqual(await readdir(join(dir, 'o')), ['again.bin'], 'rename onto the same inode is a no-op: the temporary link must still go')
    assert.equal((await stat(data)).nlink, 2)
  })

  it('should leave neither the output nor a temporary link when the digest does not match', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`
    await assert.rejects(exportTo(data, join(dir, 'bad', 'x.bin'), { digest: wrong }), { name: 'DigestMismatchError' })
    assert.deepEqual(await readdir(join(dir, 'bad')), [])
    assert.equal((await stat(data)).nlink, 1)
  })
})
