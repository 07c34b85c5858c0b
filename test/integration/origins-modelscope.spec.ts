import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile } from 'node:fs/promises'
import { randomBytes, createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startHub, type Hub } from '@damselfly/testkit'
import { withLab } from '../helpers/fixtures.js'
import { createBackends, parseModelScopeUrl } from '@damselfly/backend'
import { damselfly, NO_DAEMON } from '../helpers/cli.js'

const TOKEN = 'ms-test-secret-token-do-not-log'

describe('origins: ModelScope (modelscope://)', function () {
  this.timeout(120_000)
  let dir: string
  let hub: Hub
  const weights = randomBytes(9 * 1024 * 1024 + 123)
  const files: Record<string, Uint8Array | string> = {
    'configuration.json': '{"framework":"pytorch"}\n',
    'model.safetensors': weights,
    'tokenizer/vocab.txt': 'a\nb\nc\n'
  }
  const env = { MODELSCOPE_API_TOKEN: TOKEN, DAMSELFLY_MODELSCOPE_ENDPOINT: '' }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dfly-ms-'))
    hub = await startHub({ token: TOKEN, repos: [{ id: 'acme/tiny', files }] })
    env.DAMSELFLY_MODELSCOPE_ENDPOINT = hub.url
  })

  after(async () => {
    await hub?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('should read modelscope:// URLs with a path and a revision, and refuse ones without a model', () => {
    assert.deepEqual(parseModelScopeUrl('modelscope://acme/tiny/tokenizer/vocab.txt@v1.0'), { repo: 'acme/tiny', path: 'tokenizer/vocab.txt', revision: 'v1.0' })
    assert.deepEqual(parseModelScopeUrl('modelscope://acme/tiny'), { repo: 'acme/tiny', path: '', revision: 'master' })
    assert.throws(() => parseModelScopeUrl('modelscope://acme'), /modelscope:\/\/org\/model/)
  })

  it('should list a repository pinned to its commit, with the hub\'s sha256 as each file\'s digest, and refuse without the token', async () => {
    const backends = createBackends({ modelscope: { endpoint: hub.url, token: TOKEN } })
    try {
      const entries = await backends.forUrl('modelscope://acme/tiny').list!('modelscope://acme/tiny', {}, { recursive: true })
      assert.deepEqual(entries.map((e) => e.path).sort(), Object.keys(files).sort())
      const w = entries.find((e) => e.path === 'model.safetensors')!
      assert.equal(w.digest, `sha256:${createHash('sha256').update(weights).digest('hex')}`)
      assert.match(w.url, /^modelscope:\/\/acme\/tiny\/model\.safetensors@[0-9a-f]{40}$/)
    } finally { await backends.close() }
    const anonymous = createBackends({ modelscope: { endpoint: hub.url } })
    try {
      await assert.rejects(anonymous.forUrl('modelscope://acme/tiny').list!('modelscope://acme/tiny', {}, { recursive: true }), /MODELSCOPE_API_TOKEN/)
    } finally { await anonymous.close() }
  })

  it('should download one file standalone, verified against the hub\'s sha256', async () => {
    const r = await damselfly(['get', 'modelscope://acme/tiny/model.safetensors', '-O', join(dir, 'w.bin'), '--api', NO_DAEMON, '--json'], env)
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.ok((await readFile(join(dir, 'w.bin'))).equals(weights))
    assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN), 'the token was printed')
  })

  describe('through a lab', () => {
    const flags = (): string[] => ['--modelscope-endpoint', hub.url, '--modelscope-token', TOKEN]
    const l = withLab({ name: 'ms-lab', lab: () => ({ peers: 2, seedArgs: flags(), peerArgs: flags() }) })

    it('should give two peers the whole repository (-r) with the hub sending it about once', async () => {
      const eps = l.lab.endpoints!
      const total = Object.values(files).reduce((a, c) => a + Buffer.from(c).byteLength, 0)
      const before = hub.bytesServed
      for (const [i, p] of eps.peers.entries()) {
        const r = await damselfly(['get', '-r', 'modelscope://acme/tiny', '-O', join(dir, `lab-${i}`), '--api', p.api, '--json'], { ...env, DAMSELFLY_API_TOKEN: p.apiToken })
        assert.equal(r.code, 0, r.stdout + r.stderr)
        assert.equal(r.result.mode, 'daemon')
        for (const [path, content] of Object.entries(files)) {
          assert.ok((await readFile(join(dir, `lab-${i}`, path))).equals(Buffer.from(content)), `peer ${i}: ${path} differs`)
        }
      }
      // the seed's one pass: the second peer got everything from the swarm
      assert.ok(hub.bytesServed - before <= total, `hub sent ${hub.bytesServed - before} bytes for ${total}`)
    })
  })
})
