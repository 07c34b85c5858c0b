import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile, readdir, stat } from 'node:fs/promises'
import { randomBytes, createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { downloadFile, listFiles } from '@huggingface/hub'
import { startHub, type Hub } from '@damselfly/testkit'
import { withLab } from '../helpers/fixtures.js'
import { taskIdFor, initBlake3 } from '@damselfly/utils'
import { damselfly, NO_DAEMON } from '../helpers/cli.js'

const TOKEN = 'hf_test_secret_token_do_not_log'

describe('origins: Hugging Face hub (hf://)', function () {
  this.timeout(60_000)
  let dir: string
  let hub: Hub
  const weights = randomBytes(6 * 1024 * 1024 + 77)
  const shard = randomBytes(300_000)
  const files: Record<string, Uint8Array | string> = {
    'config.json': '{"model_type":"tiny"}\n',
    'README.md': '# tiny\n',
    'model.safetensors': weights,
    'shards/part-00001.bin': shard,
    'shards/deep/nested.txt': 'nested\n'
  }
  const env = { HF_ENDPOINT: '', HF_TOKEN: TOKEN }

  before(async () => {
    await initBlake3()
    dir = await mkdtemp(join(tmpdir(), 'dfly-hf-'))
    hub = await startHub({
      token: TOKEN,
      pageSize: 3,
      repos: [
        { id: 'acme/tiny', files },
        { id: 'acme/corpus', type: 'dataset', files: { 'data/train.csv': 'a,b\n1,2\n', 'data/big.parquet': shard } },
        { id: 'evil/escape', files: { 'ok.txt': 'fine\n', '../../escaped.txt': 'gotcha\n' } }
      ]
    })
    env.HF_ENDPOINT = hub.url
  })

  after(async () => {
    await hub?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('should answer the real @huggingface/hub client like the hub does', async () => {
    const listed: string[] = []
    for await (const f of listFiles({ repo: 'acme/tiny', recursive: true, hubUrl: hub.url, accessToken: TOKEN })) {
      if (f.type === 'file') listed.push(f.path)
    }
    assert.deepEqual(listed.sort(), Object.keys(files).sort())
    const blob = await downloadFile({ repo: 'acme/tiny', path: 'model.safetensors', hubUrl: hub.url, accessToken: TOKEN })
    assert.ok(blob != null)
    assert.equal(blob.size, weights.byteLength)
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(weights))
    const small = await downloadFile({ repo: 'acme/tiny', path: 'config.json', hubUrl: hub.url, accessToken: TOKEN })
    assert.equal(await small!.text(), files['config.json'])
    const ds = await downloadFile({ repo: { type: 'dataset', name: 'acme/corpus' }, path: 'data/train.csv', hubUrl: hub.url, accessToken: TOKEN })
    assert.equal(await ds!.text(), 'a,b\n1,2\n')
  })

  it('should download one LFS file with a content-addressed, verified task', async () => {
    const sha = createHash('sha256').update(weights).digest('hex')
    const before = hub.bytesServed
    const r = await damselfly(['get', 'hf://acme/tiny/model.safetensors', '-O', join(dir, 'w.bin'), '--api', NO_DAEMON, '--json'], env)
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.ok((await readFile(join(dir, 'w.bin'))).equals(weights))
    // the LFS sha256 became the task id, whatever URL named it
    assert.equal(r.result.taskId, taskIdFor({ url: 'anything', digest: `sha256:${sha}` }))
    assert.ok(hub.bytesServed - before <= weights.byteLength + 16, `hub sent ${hub.bytesServed - before} bytes`)
    assert.equal(r.stdout.includes(TOKEN) || r.stderr.includes(TOKEN), false, 'the token is never printed')
  })

  it('should download a whole repo with -r laid out like the repo, one request chain per file', async () => {
    const out = join(dir, 'tiny')
    const apiBefore = hub.count('/api/')
    const r = await damselfly(['get', '-r', 'hf://acme/tiny', '-O', out, '--api', NO_DAEMON, '--json'], env)
    assert.equal(r.code, 0, r.stdout + r.stderr)
    for (const [path, content] of Object.entries(files)) {
      assert.ok((await readFile(join(out, path))).equals(Buffer.from(content)), `${path} differs`)
    }
    // revision once, then the tree in pages of 3 (5 files + 2 directories = 3 pages)
    assert.equal(hub.count('/api/') - apiBefore, 1 + 3)
    assert.deepEqual((await readdir(out)).sort(), ['README.md', 'config.json', 'model.safetensors', 'shards'])
  })

  it('should download a directory of a dataset with dfget -r', async () => {
    const out = join(dir, 'corpus')
    const dfget = (await import('@damselfly/cli')).DFGET
    const { execFile } = await import('node:child_process')
    const code = await new Promise<number>((resolve) => {
      execFile(process.execPath, [dfget, '-r', 'hf://datasets/acme/corpus/data', '-O', out, '--endpoint', NO_DAEMON, '--no-progress'], { env: { ...process.env, ...env } }, (err) => { resolve(err == null ? 0 : 1) })
    })
    assert.equal(code, 0)
    assert.equal(await readFile(join(out, 'train.csv'), 'utf8'), 'a,b\n1,2\n')
    assert.ok((await readFile(join(out, 'big.parquet'))).equals(shard))
  })

  it('should refuse a repo file path that would escape the output directory', async () => {
    const out = join(dir, 'evil')
    const r = await damselfly(['get', '-r', 'hf://evil/escape', '-O', out, '--api', NO_DAEMON, '--json'], env)
    assert.equal(r.code, 1)
    assert.equal(r.result.error.code, 'ERR_UNSAFE_PATH')
    await assert.rejects(stat(join(dir, 'escaped.txt')), { code: 'ENOENT' })
    await assert.rejects(stat(join(tmpdir(), 'escaped.txt')), { code: 'ENOENT' })
    await assert.rejects(stat(join(out, 'ok.txt')), { code: 'ENOENT' }, 'nothing is written when the listing is hostile')
  })

  it('should say a token is needed when the hub answers 401', async () => {
    const r = await damselfly(['get', 'hf://acme/tiny/config.json', '-O', join(dir, 'c.json'), '--api', NO_DAEMON, '--json'], { HF_ENDPOINT: hub.url, HF_TOKEN: 'wrong' })
    assert.equal(r.code, 1)
    assert.equal(r.result.error.code, 'ERR_ORIGIN_AUTH')
    assert.match(r.result.error.message, /HF_TOKEN/)
    assert.equal(r.stdout.includes('wrong') && r.stdout.includes('Bearer'), false)
  })

  it('should ask for -r when a URL names a whole repo', async () => {
    const r = await damselfly(['get', 'hf://acme/tiny', '-O', join(dir, 'x'), '--api', NO_DAEMON, '--json'], env)
    assert.equal(r.code, 1)
    assert.match(r.result.error.message, /-r/)
  })

  describe('through a lab', () => {
    const flags = (): string[] => ['--hf-endpoint', hub.url, '--hf-token', TOKEN]
    // the seed fetches with its own token only for origins the operator allow-lists
    const l = withLab({ name: 'hf-lab', lab: () => ({ peers: 2, seedArgs: [...flags(), '--origin-credentials-allow', '*'], peerArgs: flags() }) })

    it('should fetch every repo file from the hub once and give both peers identical trees', async () => {
      const eps = l.lab.endpoints!
      const total = Object.values(files).reduce((a, c) => a + Buffer.from(c).byteLength, 0)
      const before = hub.bytesServed
      for (const [i, p] of eps.peers.entries()) {
        const r = await damselfly(['get', '-r', 'hf://acme/tiny', '-O', join(dir, `lab-${i}`), '--api', p.api, '--json'], { ...env, DAMSELFLY_API_TOKEN: p.apiToken })
        assert.equal(r.code, 0, r.stdout + r.stderr)
        assert.equal(r.result.mode, 'daemon')
        for (const [path, content] of Object.entries(files)) {
          assert.ok((await readFile(join(dir, `lab-${i}`, path))).equals(Buffer.from(content)), `peer ${i}: ${path} differs`)
        }
      }
      // the seed's one pass (plus 1-byte size probes of the small non-LFS files)
      assert.ok(hub.bytesServed - before <= total + 16, `hub sent ${hub.bytesServed - before} bytes for ${total}`)
    })
  })
})
