import assert from 'node:assert/strict'
import { join } from 'node:path'
import { writeRandomFile, sha256File, fetchJson, metric, scrape } from '@damselfly/testkit'
import { damselfly } from '../helpers/cli.js'
import { withLab } from '../helpers/fixtures.js'

/**
 * dfcache-style import: a model preloaded on one edge peer from a local file
 * reaches the other peers P2P, no origin involved (the URL named below does not exist).
 */
describe('damselfly cache import / export / stat / delete', function () {
  this.timeout(180_000)
  const SIZE = 20 * 1024 * 1024 + 4321
  const ID = 'llama/weights-v1.bin'
  const URL_NAME = 'https://models.invalid/llama/model.safetensors'
  // no origin: the file to import is written beside the lab, under the daemons' export root (they read imports only from there)
  const f = withLab({
    name: 'cache',
    lab: async ({ dir }) => {
      await writeRandomFile(join(dir, 'weights.bin'), SIZE)
      return { peers: 3, schedulerArgs: ['--allow-import'], peerArgs: ['--export-root', dir] }
    }
  })

  const api = (i: number): string => f.lab.endpoints!.peers[i].api
  const tok = (i: number): Record<string, string> => ({ DAMSELFLY_API_TOKEN: f.lab.endpoints!.peers[i].apiToken })

  it('should seed an imported file to the other peers P2P, by id and by URL', async () => {
    const want = await sha256File(join(f.dir, 'weights.bin'))
    const imp = await damselfly(['cache', 'import', join(f.dir, 'weights.bin'), '--id', ID, '--api', api(0)], tok(0))
    assert.equal(imp.code, 0, imp.stderr)
    assert.equal(imp.result.contentLength, SIZE)
    assert.equal(imp.result.complete, true)
    for (const i of [1, 2]) {
      const out = join(f.dir, `export-${i}.bin`)
      const r = await damselfly(['cache', 'export', '--id', ID, '-O', out, '--api', api(i)], tok(i))
      assert.equal(r.code, 0, r.stderr)
      assert.equal(await sha256File(out), want)
      assert.equal(r.result.bytesFromOrigin, 0)
      // at least the whole content from peers (an endgame may fetch a last piece twice)
      assert.ok(r.result.bytesFromPeers + r.result.bytesFromSeed >= SIZE)
    }
    // peer 0 served its import to at least one of them
    const metrics = await scrape(f.lab.endpoints!.peers[0].metrics)
    assert.ok(metric(metrics, 'damselfly_upload_bytes_total') > 0, 'the importer uploaded')

    // the same content under a URL: peers asking for that URL get it, the (unreachable) origin is never asked
    const byUrl = await damselfly(['cache', 'import', join(f.dir, 'weights.bin'), '--url', URL_NAME, '--api', api(1)], tok(1))
    assert.equal(byUrl.code, 0, byUrl.stderr)
    const got = await damselfly(['get', URL_NAME, '-O', join(f.dir, 'get-2.bin'), '--api', api(2), '--no-progress'], tok(2))
    assert.equal(got.code, 0, got.stderr)
    assert.equal(await sha256File(join(f.dir, 'get-2.bin')), want)
  })

  it('should stat and delete a task on one peer while the others keep it', async () => {
    const stat = await damselfly(['cache', 'stat', '--id', ID, '--api', api(2)], tok(2))
    assert.equal(stat.code, 0, stat.stderr)
    assert.equal(stat.result.complete, true)
    assert.equal(stat.result.piecesDone, stat.result.pieceCount)
    const del = await damselfly(['cache', 'delete', '--id', ID, '--api', api(2)], tok(2))
    assert.equal(del.code, 0, del.stderr)
    const gone = await damselfly(['cache', 'stat', '--id', ID, '--api', api(2)], tok(2))
    assert.equal(gone.code, 1)
    assert.match(gone.stderr, /no such task/)
    const tasks = await fetchJson<any[]>(`${api(1)}/api/v1/tasks`)
    assert.ok(tasks.some((t) => t.contentLength === SIZE), 'peer 1 still has its copy')
    // and peer 2 can have it back P2P
    const again = await damselfly(['cache', 'export', '--id', ID, '-O', join(f.dir, 'again.bin'), '--api', api(2)], tok(2))
    assert.equal(again.code, 0, again.stderr)
  })

  it('should refuse bad input with a clear error', async () => {
    const both = await damselfly(['cache', 'stat', '--id', ID, '--url', URL_NAME, '--api', api(0)], tok(0))
    assert.equal(both.code, 2)
    assert.match(both.stderr, /exactly one of --url URL or --id ID/)
    const missing = await damselfly(['cache', 'import', join(f.dir, 'nope.bin'), '--id', 'x', '--api', api(0)], tok(0))
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /cannot read .*nope\.bin: ENOENT/)
    // the daemon reads files for import only from under its export roots: not its host's secrets
    const outside = await damselfly(['cache', 'import', '/etc/hostname', '--id', 'stolen', '--api', api(0)], tok(0))
    assert.equal(outside.code, 1)
    assert.match(outside.stderr, /export roots/)
    const noToken = await damselfly(['cache', 'import', join(f.dir, 'weights.bin'), '--id', 'x', '--api', api(0)], { DAMSELFLY_API_TOKEN: 'wrong-token-0123456789' })
    assert.equal(noToken.code, 1)
    assert.match(noToken.stderr, /token/i)
  })
})
