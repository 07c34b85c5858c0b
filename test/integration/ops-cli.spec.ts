import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, writeFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { sha256File, metric } from '@damselfly/testkit'
import { getVia, CLI, DFGET } from '@damselfly/cli'
import { withLab } from '../helpers/fixtures.js'

interface Run { code: number, stdout: string, stderr: string }
/** Runs a bin as its own process, the way scripts call it. */
async function run (bin: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 120_000, env: { ...process.env, ...env } }, (err: any, stdout, stderr) => {
      resolve({ code: err == null ? 0 : (typeof err.code === 'number' ? err.code : -1), stdout, stderr })
    })
  })
}

async function text (url: string): Promise<{ status: number, body: string }> {
  const res = await request(url)
  return { status: res.statusCode, body: await res.body.text() }
}

describe('operations: dfget, metrics, health and config against a live lab', function () {
  this.timeout(240_000)
  const SIZE = 20 * 1024 * 1024 + 99
  const f = withLab({ name: 'ops', files: { 'blob.bin': SIZE }, aliases: { '/b.bin': 'blob.bin' }, lab: { peers: 2, pools: ['edge-a', 'edge-b'] } })

  it('should download with the dfget bin through a daemon and verify the digest', async () => {
    const out = join(f.dir, 'dfget.bin')
    const r = await run(DFGET, [f.url('blob.bin'), '-O', out, '--digest', `sha256:${f.sha['blob.bin']}`, '--timeout', '2m', '--no-progress', '--json',
      '--filtered-query-param', 'sig', '--tag', 't', '--application', 'ops-test'], { DAMSELFLY_API: f.lab.endpoints!.peers[0].api, DAMSELFLY_API_TOKEN: f.lab.endpoints!.peers[0].apiToken })
    assert.equal(r.code, 0, r.stderr)
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!)
    assert.equal(result.ok, true)
    assert.equal(result.mode, 'daemon')
    assert.equal(await sha256File(out), f.sha['blob.bin'])
  })

  it('should exit 1 and leave no file when dfget cannot download', async () => {
    const out = join(f.dir, 'bad.bin')
    const wrong = await run(DFGET, [f.url('blob.bin'), '-O', out, '--digest', `sha256:${'0'.repeat(64)}`, '--no-progress', '--endpoint', f.lab.endpoints!.peers[1].api], { DAMSELFLY_API_TOKEN: f.lab.endpoints!.peers[1].apiToken })
    assert.equal(wrong.code, 1, wrong.stderr)
    assert.match(wrong.stderr, /digest/i)
    // no daemon and back-to-source disabled: nowhere to get it from
    const noDaemon = await run(DFGET, [f.url('blob.bin'), '-O', out, '--disable-back-to-source', '--no-progress', '--endpoint', 'http://127.0.0.1:9'])
    assert.equal(noDaemon.code, 1)
    assert.match(noDaemon.stderr, /back-to-source/)
    assert.deepEqual((await readdir(f.dir)).filter((n) => n.startsWith('bad.bin')), [])
  })

  it('should exit 2 on bad dfget usage and show examples in its help', async () => {
    const missing = await run(DFGET, [f.url('blob.bin')])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /--output/)
    const badTimeout = await run(DFGET, [f.url('blob.bin'), '-O', join(f.dir, 'x'), '--timeout', 'soon'])
    assert.equal(badTimeout.code, 2)
    const help = await run(DFGET, ['--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Examples:/)
    assert.match(help.stdout, /--disable-back-to-source/)
  })

  it('should show examples in the help of every damselfly subcommand', async () => {
    for (const sub of [['scheduler'], ['seed'], ['daemon'], ['get'], ['lab'], ['config'], ['config', 'print'], ['dfinit']]) {
      const r = await run(CLI, [...sub, '--help'])
      assert.equal(r.code, 0, `${sub.join(' ')} --help failed`)
      assert.match(r.stdout, /Examples:/, `${sub.join(' ')} --help has no examples`)
    }
  })

  it('should answer /healthz and /readyz on the scheduler, every local API and every metrics port', async () => {
    const eps = f.lab.endpoints!
    const urls = [eps.scheduler.url, ...[...eps.peers, ...eps.seeds].flatMap((p) => [p.api, p.metrics.replace(/\/metrics$/, '')])]
    for (const base of urls) {
      for (const path of ['/healthz', '/readyz']) {
        const r = await text(base + path)
        assert.equal(r.status, 200, `${base}${path} answered ${r.status}`)
        assert.equal(JSON.parse(r.body).ok, true)
      }
    }
  })

  it('should export piece latency, bytes by source, rates, cache usage and proxy counters on a peer', async () => {
    const eps = f.lab.endpoints!
    const before = (await text(eps.peers[1].metrics)).body
    const r = await getVia(eps.peers[1], f.url('b.bin'), join(f.dir, 'm.bin'), ['--tag', 'metrics'])
    assert.equal(r.ok, true, JSON.stringify(r))
    const { status, body } = await text(eps.peers[1].metrics)
    assert.equal(status, 200)
    const fromP2p = metric(body, 'damselfly_download_bytes_total', 'source="seed"') + metric(body, 'damselfly_download_bytes_total', 'source="peer"')
    assert.ok(fromP2p >= SIZE, `only ${fromP2p} bytes from seed and peers`)
    assert.ok(metric(body, 'damselfly_piece_download_seconds_count') > 0)
    assert.match(body, /damselfly_download_rate_bytes_per_second\{role="peer"\} \d/)
    assert.match(body, /damselfly_upload_rate_bytes_per_second/)
    assert.match(body, /damselfly_connected_peers\{role="peer"\} [1-9]/)
    assert.match(body, /damselfly_active_tasks/)
    // the cache grew by exactly the new task: it counts this daemon's pieces, not the disk
    assert.equal(metric(body, 'damselfly_cache_bytes') - metric(before, 'damselfly_cache_bytes'), SIZE)
    assert.equal(metric(body, 'damselfly_cache_tasks') - metric(before, 'damselfly_cache_tasks'), 1)
    assert.match(body, /damselfly_proxy_requests_total\{result="p2p",method="GET",role="peer"\} 0/)
    // the event loop is sampled while the daemon works (and idles unsampled): the download was work
    assert.ok(metric(body, 'nodejs_eventloop_lag_p99_seconds') > 0, 'no event-loop delay sampled during the download')

    const seedMetrics = await text(eps.seeds[0].metrics)
    assert.ok(metric(seedMetrics.body, 'damselfly_download_bytes_total', 'source="origin"') >= SIZE)
    assert.ok(metric(seedMetrics.body, 'damselfly_upload_bytes_total') > 0)
  })

  it('should export decisions, back-to-source counts, peers by pool and pool edges on the scheduler', async () => {
    const { status, body } = await text(f.lab.endpoints!.scheduler.url + '/metrics')
    assert.equal(status, 200)
    assert.ok(metric(body, 'damselfly_scheduler_decisions_total') > 0)
    // only the task asked for with a wrong --digest may have sent a peer to the origin (its seed refused the content)
    assert.ok(metric(body, 'damselfly_scheduler_back_to_source_total') <= 1)
    assert.match(body, /damselfly_scheduler_peers\{pool="edge-a",kind="peer",role="scheduler"\} 1/)
    assert.match(body, /damselfly_scheduler_peers\{pool="cloud",kind="seed",role="scheduler"\} 1/)
    assert.match(body, /damselfly_scheduler_edge_bytes_total\{from="cloud",to="edge-/)
  })

  it('should write structured log lines naming the peer and the task', async () => {
    const log = await readFile(join(f.lab.endpoints!.logs, 'peer-1.log'), 'utf8')
    const lines = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
    const finished = lines.find((l) => l.msg === 'download finished')
    assert.ok(finished != null, 'no "download finished" line')
    assert.equal(finished.peer, f.lab.endpoints!.peers[1].id)
    assert.match(finished.task, /^[0-9a-f]{64}$/)
  })
})

describe('operations: configuration files and damselfly config print', function () {
  this.timeout(60_000)
  const f = withLab({ name: 'cfg' })

  it('should print the effective config with flags > env > file and secrets masked', async () => {
    const file = join(f.dir, 'peer.yaml')
    await writeFile(file, 'pool: from-file\nidc: z1\ntoken: hunter2\ngc:\n  quota: 20GiB\n')
    const r = await run(CLI, ['config', 'print', '--role', 'peer', '--config', file, '--json'], { DAMSELFLY_IDC: 'z2', DAMSELFLY_POOL: '' })
    assert.equal(r.code, 0, r.stderr)
    const c = JSON.parse(r.stdout)
    assert.equal(c.pool, 'from-file')
    assert.equal(c.idc, 'z2')
    assert.equal(c.token, '********')
    assert.equal(c.gc.quota, '20GiB')
    assert.ok(!r.stdout.includes('hunter2'))
  })

  it('should exit 2 on bad damselfly get usage, like every other subcommand', async () => {
    const missing = await run(CLI, ['get', 'http://127.0.0.1:9/blob.bin'])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /--output/)
    const badTimeout = await run(CLI, ['get', 'http://127.0.0.1:9/blob.bin', '-O', join(f.dir, 'x'), '--timeout', 'soon'])
    assert.equal(badTimeout.code, 2)
    assert.match(badTimeout.stderr, /positive integer/)
    const badFlag = await run(CLI, ['lab', '--no-such-flag'])
    assert.equal(badFlag.code, 2)
    const help = await run(CLI, ['get', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /--no-hard-link/)
  })

  it('should refuse to start a daemon or scheduler on an invalid config, exit 2 and name the setting', async () => {
    const bad = join(f.dir, 'bad.yaml')
    await writeFile(bad, 'apiPort: 99999\nfavouriteColour: blue\n')
    const d = await run(CLI, ['daemon', '--config', bad])
    assert.equal(d.code, 2)
    assert.match(d.stderr, /apiPort/)
    assert.match(d.stderr, /favouriteColour/)
    assert.match(d.stderr, /bad\.yaml/)
    const s = await run(CLI, ['scheduler', '--port', '0'], { DAMSELFLY_SCHEDULER_P2P_PORT: 'eighty' })
    assert.equal(s.code, 2)
    assert.match(s.stderr, /DAMSELFLY_SCHEDULER_P2P_PORT/)
    const missing = await run(CLI, ['seed', '--config', join(f.dir, 'nope.yaml')])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /ENOENT/)
  })

  it('should start a scheduler from a config file with flags overriding it', async () => {
    const file = join(f.dir, 'scheduler.yaml')
    await writeFile(file, 'host: 127.0.0.1\nport: 1\np2pPort: 0\n')
    // port 1 from the file would fail (privileged/in use): the flag must win
    const child = execFile(process.execPath, [CLI, 'scheduler', '--config', file, '--port', '0', '--json'], { env: { ...process.env, DAMSELFLY_EXIT_WITH_STDIN: '1' } })
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = ''
        child.stdout!.on('data', (d) => { buf += d; if (buf.includes('\n')) resolve(buf.split('\n')[0]) })
        child.once('exit', (code) => reject(new Error(`scheduler exited ${code}`)))
      })
      const info = JSON.parse(line)
      assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.notEqual(info.url, 'http://127.0.0.1:1')
      assert.equal((await text(info.url + '/healthz')).status, 200)
    } finally {
      child.kill('SIGTERM')
    }
  })
})

describe('damselfly get: per-request options reach the daemon', function () {
  this.timeout(120_000)
  // no seed: the scheduler sends a task's first peer back to source
  const f = withLab({ name: 'opts', files: { 'blob.bin': 8 * 1024 * 1024 + 5 }, lab: { peers: 1, seeds: 0 } })

  const getJson = async (args: string[]): Promise<{ code: number, result: any }> => {
    const r = await run(CLI, ['get', f.url('blob.bin'), '--json', '--no-progress', ...args], { DAMSELFLY_API_TOKEN: f.lab.endpoints!.peers[0].apiToken })
    return { code: r.code, result: JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') }
  }

  it('should refuse to go back to source with --disable-back-to-source through a daemon as without one, writing nothing', async () => {
    const viaDaemon = await getJson(['-O', join(f.dir, 'a.bin'), '--disable-back-to-source', '--api', f.lab.endpoints!.peers[0].api])
    const alone = await getJson(['-O', join(f.dir, 'b.bin'), '--disable-back-to-source', '--api', 'http://127.0.0.1:9'])
    for (const [how, r] of [['daemon', viaDaemon], ['standalone', alone]] as const) {
      assert.equal(r.code, 1, how)
      assert.equal(r.result.mode, how)
      assert.equal(r.result.error.name, 'BackToSourceDisabledError', `${how}: ${JSON.stringify(r.result)}`)
    }
    // through the daemon the origin is asked (a 1-byte probe) whether the client may read the URL; no content beyond that
    assert.ok(f.origin.bytesServed <= 1, `origin served ${f.origin.bytesServed} bytes`)
    assert.deepEqual((await readdir(f.dir)).filter((n) => /^[ab]\.bin/.test(n)), [])
  })

  it('should give up after --timeout through a daemon as without one, writing nothing', async () => {
    // 1 ms: no download of 8 MiB through processes finishes that fast
    const viaDaemon = await getJson(['-O', join(f.dir, 'c.bin'), '--timeout', '1', '--api', f.lab.endpoints!.peers[0].api])
    const alone = await getJson(['-O', join(f.dir, 'd.bin'), '--timeout', '1', '--api', 'http://127.0.0.1:9'])
    for (const [how, r] of [['daemon', viaDaemon], ['standalone', alone]] as const) {
      assert.equal(r.code, 1, how)
      assert.equal(r.result.mode, how)
      assert.equal(r.result.error.name, 'DownloadTimeoutError', `${how}: ${JSON.stringify(r.result)}`)
    }
    assert.deepEqual((await readdir(f.dir)).filter((n) => /^[cd]\.bin/.test(n)), [])
  })

  it('should stream progress events unless the request asks for none, as a get with no bar does', async () => {
    const p = f.lab.endpoints!.peers[0]
    const events = async (extra: Record<string, unknown>): Promise<string[]> => {
      const res = await request(`${p.api}/api/v1/download`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${p.apiToken}` }, body: JSON.stringify({ url: f.url('blob.bin'), ...extra }) })
      assert.equal(res.statusCode, 200)
      return (await res.body.text()).trim().split('\n').map((l) => JSON.parse(l).type)
    }
    // distinct tags: two tasks, each fetched piece by piece
    const withBar = await events({ tag: 'progress-on' })
    assert.ok(withBar.includes('progress'), withBar.join(','))
    assert.deepEqual(await events({ tag: 'progress-off', progress: false }), ['started', 'done'])
  })
})
