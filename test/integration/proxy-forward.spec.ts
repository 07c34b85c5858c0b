import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startOrigin, writeRandomFile, sha256File, fetchJson } from '@damselfly/testkit'
import { withLab } from '../helpers/fixtures.js'
import { clientOrSkip, run, which } from '../helpers/clients.js'
import { request } from 'node:http'

describe('the peer proxy as HTTP_PROXY for curl and aria2c', function () {
  this.timeout(120_000)
  const SIZE = 24 * 1024 * 1024 + 333
  const PATH = '/models/weights.safetensors'
  const f = withLab({
    name: 'proxy-fwd',
    files: { 'weights.bin': SIZE, 'notes.txt': 4096 },
    aliases: { [PATH]: 'weights.bin' },
    // the test's origins (one more starts later, on its own port) are on loopback, which the
    // proxies refuse unless allow-listed; the daemons' own ports stay refused even so
    lab: { peers: 2, proxyAllow: ['127.0.0.1'] }
  })
  const proxies = (): string[] => f.lab.endpoints!.peers.map((p) => p.proxy!)

  const fullGets = (path: string): number => f.origin.requestLog.filter((r) => r.path === path && r.method === 'GET' && r.range !== 'bytes=0-0').length

  it('should report every peer\'s proxy URL in the lab endpoints', () => {
    for (const p of f.lab.endpoints!.peers) assert.match(p.proxy ?? '', /^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it('should serve curl through P2P, reading the origin once for two peers', async function () {
    const curl = await clientOrSkip(this, 'curl')
    const url = `${f.origin.url}${PATH}`
    const want = f.sha['weights.bin']
    await run(curl, ['-sSf', '-x', proxies()[0], '-o', join(f.dir, 'curl-0.bin'), url])
    await run(curl, ['-sSf', '-x', proxies()[1], '-o', join(f.dir, 'curl-1.bin'), url])
    assert.equal(await sha256File(join(f.dir, 'curl-0.bin')), want)
    assert.equal(await sha256File(join(f.dir, 'curl-1.bin')), want)
    // the seed's one pass plus its 1-byte size probe
    assert.ok(f.origin.bytesServed <= SIZE + 3, `origin served ${f.origin.bytesServed} bytes for a ${SIZE}-byte file`)
    assert.equal(fullGets(PATH), 1)
    const tasks = await fetchJson<any[]>(`${f.lab.endpoints!.peers[1].api}/api/v1/tasks`)
    assert.equal(tasks[0].bytesFromOrigin, 0)
    assert.equal(tasks[0].bytesFromPeers + tasks[0].bytesFromSeed, SIZE)

    // a range is answered 206 from the pieces covering it
    const r = await run(curl, ['-sSf', '-x', proxies()[1], '-r', '5000000-9000000', '-o', join(f.dir, 'curl-range.bin'), '-w', '%{http_code}', url])
    assert.equal(r.stdout, '206')
    const whole = await readFile(join(f.dir, 'weights.bin'))
    assert.deepEqual(await readFile(join(f.dir, 'curl-range.bin')), whole.subarray(5_000_000, 9_000_001))
  })

  it('should give aria2c\'s parallel range requests byte-identical output', async function () {
    const aria2c = await clientOrSkip(this, 'aria2c', 'aria2')
    const before = f.origin.bytesServed
    await run(aria2c, ['-q', '-x4', '-s4', '-k1M', '--allow-overwrite=true', '--auto-file-renaming=false', `--all-proxy=${proxies()[1]}`, '-d', f.dir, '-o', 'aria.bin', `${f.origin.url}${PATH}`])
    assert.equal(await sha256File(join(f.dir, 'aria.bin')), f.sha['weights.bin'])
    assert.equal(f.origin.bytesServed, before, 'aria2c was served from the swarm, not the origin')
  })

  it('should pass other requests and CONNECT tunnels through untouched', async function () {
    const curl = await clientOrSkip(this, 'curl')
    const requests = f.origin.requests
    await run(curl, ['-sSf', '-x', proxies()[0], '-o', join(f.dir, 'notes-0.txt'), f.url('notes.txt')])
    assert.equal(f.origin.requests, requests + 1, 'a non-matching URL went straight to the origin')
    await run(curl, ['-sSf', '-p', '-x', proxies()[0], '-o', join(f.dir, 'notes-1.txt'), f.url('notes.txt')])
    assert.equal(f.origin.requests, requests + 2)
    const want = await readFile(join(f.dir, 'notes.txt'))
    assert.deepEqual(await readFile(join(f.dir, 'notes-0.txt')), want)
    assert.deepEqual(await readFile(join(f.dir, 'notes-1.txt')), want)
    const missing = await run(curl, ['-sS', '-x', proxies()[0], '-o', '/dev/null', '-w', '%{http_code}', `${f.origin.url}/models/missing.gguf`])
    assert.equal(missing.stdout, '404')
  })

  it('should stream while pieces arrive, and finish the task when its first client hangs up', async () => {
    const size = 16 * 1024 * 1024 + 9
    await writeRandomFile(join(f.dir, 'slow.gguf'), size)
    // 8 MiB/s: the whole file takes ~2 s, the first 4 MiB piece ~0.5 s
    const slow = await startOrigin({ files: { '/slow.gguf': join(f.dir, 'slow.gguf') }, rateBytesPerSec: 8 * 1024 * 1024 })
    try {
      const url = `${slow.url}/slow.gguf`
      const proxy = new URL(proxies()[0])
      const first = await new Promise<{ status: number, length: string | undefined }>((resolve, reject) => {
        const req = request({ host: proxy.hostname, port: proxy.port, path: url, headers: { host: new URL(url).host } }, (res) => {
          res.once('data', () => {
            resolve({ status: res.statusCode ?? 0, length: res.headers['content-length'] })
            req.destroy()
          })
        })
        req.on('error', reject)
        req.end()
      })
      assert.equal(first.status, 200)
      assert.equal(first.length, String(size), 'Content-Length is sent before the content has arrived')
      const tasks = await fetchJson<any[]>(`${f.lab.endpoints!.peers[0].api}/api/v1/tasks`)
      const task = tasks.find((t) => t.url === url)
      assert.ok(task.bytesDone < size, `the first bytes were sent after ${task.bytesDone} of ${size} bytes had arrived`)

      const curl = await which('curl')
      if (curl == null) return
      await run(curl, ['-sSf', '-x', proxies()[1], '-o', join(f.dir, 'slow-1.bin'), url])
      assert.equal(await sha256File(join(f.dir, 'slow-1.bin')), await sha256File(join(f.dir, 'slow.gguf')))
      assert.ok(slow.bytesServed <= size + 3, `origin served ${slow.bytesServed} bytes for ${size}`)
    } finally {
      await slow.stop()
    }
  })
})
