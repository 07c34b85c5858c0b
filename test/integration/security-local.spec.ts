import assert from 'node:assert/strict'
import { lstat, mkdir, readdir, stat, symlink } from 'node:fs/promises'
import { createServer, type Server, type AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { request } from 'undici'
import { sha256File, fetchJson, waitFor } from '@damselfly/testkit'
import { getVia } from '@damselfly/cli'
import { labLogs } from '../helpers/faults.js'
import { withLab } from '../helpers/fixtures.js'

const MiB = 1024 * 1024

/** Sends `CONNECT target` on a raw socket and returns the status line's code and the time it took. */
async function connectThrough (proxy: string, target: string): Promise<{ status: number, ms: number, body: string }> {
  const u = new URL(proxy)
  const t0 = Date.now()
  return await new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname)
    let data = ''
    s.setTimeout(10_000, () => { s.destroy(); reject(new Error(`CONNECT ${target}: no answer`)) })
    s.on('connect', () => { s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`) })
    s.on('data', (d) => {
      data += d.toString()
      if (!data.includes('\r\n\r\n')) return
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0)
      // an answered tunnel stays open: the status line is all this needs
      if (status === 200) { s.destroy(); resolve({ status, ms: Date.now() - t0, body: '' }) }
    })
    s.on('end', () => { resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0), ms: Date.now() - t0, body: data.split('\r\n\r\n')[1] ?? '' }) })
    s.on('error', reject)
  })
}

/** An absolute-form GET through the proxy (what HTTP_PROXY clients send). */
async function getThrough (proxy: string, url: string): Promise<{ status: number, body: string, ms: number }> {
  const t0 = Date.now()
  const u = new URL(proxy)
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: Number(u.port), path: url, headers: { host: new URL(url).host }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1'), ms: Date.now() - t0 }) })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error(`GET ${url}: no answer`)) })
    req.on('error', reject)
    req.end()
  })
}

describe('security: the peer\'s local surfaces (local API, proxy, preheat, what is shown)', function () {
  this.timeout(120_000)
  /** a loopback server nobody allowed: it counts every connection that reaches it */
  let sentinel: Server
  let sentinelPort = 0
  let sentinelHits = 0

  before(async () => {
    sentinel = createServer((s) => { sentinelHits++; s.destroy() })
    await new Promise<void>((resolve) => sentinel.listen(0, '127.0.0.1', resolve))
    sentinelPort = (sentinel.address() as AddressInfo).port
  })
  after(async () => { await new Promise((resolve) => sentinel?.close(resolve)) })
  const f = withLab({
    name: 'sec-local',
    files: { 'blob.bin': 3 * MiB + 7 },
    aliases: { '/signed.bin': 'blob.bin' },
    lab: async ({ dir, origin }) => {
      await mkdir(join(dir, 'exports'))
      return { peers: 1, exportRoots: [join(dir, 'exports')], proxyAllow: [new URL(origin.url).host] }
    }
  })
  const exportsDir = (): string => join(f.dir, 'exports')

  const peer = (): { api: string, apiToken: string, proxy: string | null, dataDir: string } => f.lab.endpoints!.peers[0]
  const download = async (body: Record<string, unknown>, token?: string): Promise<{ status: number, text: string }> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (token != null) headers.authorization = `Bearer ${token}`
    const res = await request(`${peer().api}/api/v1/download`, { method: 'POST', headers, body: JSON.stringify(body) })
    return { status: res.statusCode, text: await res.body.text() }
  }
  const exists = async (p: string): Promise<boolean> => await lstat(p).then(() => true, () => false)

  it('should keep the API token in <dataDir>/api-token readable by its owner only', async () => {
    const s = await stat(join(peer().dataDir, 'api-token'))
    assert.equal(s.mode & 0o777, 0o600)
    assert.match(peer().apiToken, /^[0-9a-f]{64}$/)
  })

  it('should refuse every state-changing request without the token (401) and fetch or write nothing', async () => {
    const before = f.origin.requestLog.length
    const victim = join(f.dir, 'app', 'node_modules', 'evil', 'index.js')
    for (const token of [undefined, 'not-the-token', `${peer().apiToken}x`]) {
      const r = await download({ url: f.url('blob.bin'), output: victim }, token)
      assert.equal(r.status, 401, r.text)
      assert.equal(JSON.parse(r.text).error.code, 'ERR_UNAUTHORIZED')
    }
    for (const method of ['PUT', 'DELETE', 'PATCH'] as const) {
      const res = await request(`${peer().api}/api/v1/tasks/x`, { method })
      assert.equal(res.statusCode, 401, method)
      await res.body.dump()
    }
    // cached content is not handed out without it either
    const content = await request(`${peer().api}/api/v1/tasks/${'0'.repeat(64)}/content`)
    assert.equal(content.statusCode, 401)
    await content.body.dump()
    assert.equal(await exists(join(f.dir, 'app')), false)
    assert.equal(f.origin.requestLog.length, before, 'the origin was contacted')
  })

  it('should refuse, with the token, an output outside the export roots (403) creating nothing, symlinks included', async () => {
    const before = f.origin.requestLog.length
    const outside = join(f.dir, 'app', 'node_modules', 'evil', 'index.js')
    const r = await download({ url: f.url('blob.bin'), output: outside }, peer().apiToken)
    assert.equal(r.status, 403, r.text)
    assert.equal(JSON.parse(r.text).error.code, 'ERR_EXPORT_FORBIDDEN')
    assert.equal(await exists(join(f.dir, 'app')), false)
    // a relative path or one climbing out of a root is no way around it
    for (const output of ['relative.bin', join(exportsDir(), '..', 'climbed.bin'), exportsDir()]) {
      const x = await download({ url: f.url('blob.bin'), output }, peer().apiToken)
      assert.equal(x.status, 403, `${output}: ${x.text}`)
    }
    assert.equal(await exists(join(f.dir, 'climbed.bin')), false)
    // a link inside a root that leads out of it
    const elsewhere = join(f.dir, 'elsewhere')
    await mkdir(elsewhere)
    await symlink(elsewhere, join(exportsDir(), 'link'))
    const viaLink = await download({ url: f.url('blob.bin'), output: join(exportsDir(), 'link', 'sub', 'evil.js') }, peer().apiToken)
    assert.equal(viaLink.status, 403, viaLink.text)
    assert.deepEqual(await readdir(elsewhere), [])
    assert.deepEqual((await readdir(exportsDir())).sort(), ['link'])
    assert.equal(f.origin.requestLog.length, before, 'the origin was contacted')
  })

  it('should write under an export root with the token, and stream to `get` for outputs elsewhere', async () => {
    const want = f.sha['blob.bin']
    const inside = join(exportsDir(), 'sub', 'blob.bin')
    const r = await download({ url: f.url('blob.bin'), output: inside }, peer().apiToken)
    assert.equal(r.status, 200, r.text)
    const done = r.text.trim().split('\n').map((l) => JSON.parse(l)).pop()
    assert.equal(done.type, 'done', r.text)
    assert.equal(await sha256File(inside), want)
    // outside the roots the CLI writes the file itself, from the bytes the daemon streams
    const out = join(f.dir, 'mine', 'blob.bin')
    const got = await getVia(peer(), f.url('blob.bin'), out)
    assert.equal(got.ok, true, JSON.stringify(got))
    assert.equal((got as any).mode, 'daemon')
    assert.equal(await sha256File(out), want)
    // without the token `get` says what is missing rather than writing anything
    const refused = await getVia({ api: peer().api }, f.url('blob.bin'), join(f.dir, 'refused.bin'))
    assert.equal(refused.ok, false)
    assert.match(refused.error?.message ?? '', /API token/)
    assert.equal(await exists(join(f.dir, 'refused.bin')), false)
  })

  it('should refuse CONNECT and absolute-form requests to loopback, link-local, private and its own ports (403) before connecting', async () => {
    const proxy = peer().proxy!
    const apiPort = new URL(peer().api).port
    const targets = [
      `127.0.0.1:${apiPort}`, // the daemon's own API
      `127.0.0.1:${sentinelPort}`,
      `localhost:${sentinelPort}`, // a name that resolves to loopback
      `[::ffff:127.0.0.1]:${sentinelPort}`,
      '169.254.169.254:80', // cloud metadata
      '10.255.255.1:80', // private; never contacted: a connection attempt there would hang, not answer at once
      '[fe80::1]:80',
      '[fd00::1]:80',
      '0.0.0.0:80'
    ]
    for (const t of targets) {
      const c = await connectThrough(proxy, t)
      assert.equal(c.status, 403, `CONNECT ${t}: ${c.status} ${c.body}`)
      assert.match(c.body, /proxy refuses to connect/)
      assert.ok(c.ms < 2000, `CONNECT ${t} took ${c.ms} ms: it tried to connect`)
      const g = await getThrough(proxy, `http://${t}/latest/meta-data/`)
      assert.equal(g.status, 403, `GET http://${t}/: ${g.status} ${g.body}`)
      assert.equal(JSON.parse(g.body).error.code, 'ERR_DESTINATION_FORBIDDEN')
      assert.ok(g.ms < 2000, `GET ${t} took ${g.ms} ms: it tried to connect`)
    }
    // registry mirror mode with a loopback registry named by ?ns= is no way around it
    const ns = await request(`${proxy}/v2/x/manifests/latest?ns=127.0.0.1:${sentinelPort}`)
    assert.equal(ns.statusCode, 403)
    await ns.body.dump()
    assert.equal(sentinelHits, 0, 'a refused destination was contacted')
    // the daemon's own API saw no download from the proxy
    assert.deepEqual((await fetchJson<any[]>(`${peer().api}/api/v1/tasks`)).filter((t) => String(t.url).includes('meta-data')), [])
  })

  it('should still serve an allow-listed loopback origin through the proxy, by GET and CONNECT', async () => {
    const proxy = peer().proxy!
    const g = await getThrough(proxy, f.url('blob.bin'))
    assert.equal(g.status, 200)
    assert.equal(Buffer.byteLength(g.body, 'latin1'), 3 * MiB + 7)
    const c = await connectThrough(proxy, new URL(f.origin.url).host)
    assert.equal(c.status, 200)
  })

  it('should refuse preheat without the admin token (401) and start nothing', async () => {
    const eps = f.lab.endpoints!
    const url = f.url('preheat-me.bin')
    for (const auth of [undefined, 'Bearer wrong', `Basic ${Buffer.from(`x:${eps.scheduler.adminToken}`).toString('base64')}`]) {
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (auth != null) headers.authorization = auth
      const res = await request(`${eps.scheduler.url}/api/v1/preheat`, { method: 'POST', headers, body: JSON.stringify({ url }) })
      assert.equal(res.statusCode, 401, String(auth))
      await res.body.dump()
    }
    const tasks = await fetchJson<any[]>(`${eps.scheduler.url}/api/v1/tasks`)
    assert.equal(tasks.some((t) => String(t.url).includes('preheat-me')), false)
    assert.equal(f.origin.requestLog.some((r) => r.path === '/preheat-me.bin'), false)
  })

  it('should never show userinfo or presigned signatures in task views, the dashboard, metrics or logs', async () => {
    const eps = f.lab.endpoints!
    const secrets = ['s3cr3t-pass', 'SIGNATURE0123456789abcdef', 'AKIACREDENTIAL0123', 'SESSIONTOKEN987']
    const url = `http://alice:${secrets[0]}@${new URL(f.origin.url).host}/signed.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${secrets[2]}&X-Amz-Signature=${secrets[1]}&X-Amz-Security-Token=${secrets[3]}&part=1`
    const r = await download({ url }, peer().apiToken)
    assert.equal(r.status, 200, r.text)
    assert.equal(r.text.trim().split('\n').map((l) => JSON.parse(l)).pop().type, 'done', r.text)
    const schedulerTasks = await waitFor('the scheduler to list the task', async () => {
      const ts = await fetchJson<any[]>(`${eps.scheduler.url}/api/v1/tasks`)
      return ts.find((t) => String(t.url).includes('/signed.bin'))
    })
    // still recognisable: host, path and harmless parameters stay
    assert.match(String(schedulerTasks.url), /\/signed\.bin\?.*X-Amz-Signature=\*\*\*.*part=1/)
    const peerTasks = await fetchJson<any[]>(`${peer().api}/api/v1/tasks`)
    const shown = peerTasks.find((t) => String(t.url).includes('/signed.bin'))
    assert.ok(shown != null)
    assert.match(String(shown.url), /^http:\/\/\*\*\*@127\.0\.0\.1:\d+\/signed\.bin\?/)
    const surfaces = [
      JSON.stringify(peerTasks),
      JSON.stringify(await fetchJson(`${eps.scheduler.url}/api/v1/tasks`)),
      JSON.stringify(await fetchJson(`${eps.scheduler.url}/api/v1/tasks/${String(schedulerTasks.id)}`)),
      await (await request(eps.scheduler.dashboard)).body.text(),
      await (await request(eps.scheduler.metrics)).body.text(),
      await (await request(peer().api.replace(/\/$/, '') + '/api/v1/info')).body.text(),
      r.text
    ]
    for (const p of [...eps.peers, ...eps.seeds]) surfaces.push(await (await request(p.metrics)).body.text())
    surfaces.push(await labLogs(eps.logs))
    const all = surfaces.join('\n')
    assert.ok(all.includes('signed.bin'), 'the task does appear')
    for (const s of secrets) assert.ok(!all.includes(s), `${s} appears in an API, the dashboard, metrics or logs`)
  })
})
