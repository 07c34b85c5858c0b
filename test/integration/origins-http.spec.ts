import assert from 'node:assert/strict'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { createServer, type Server } from 'node:http'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseRange } from '@damselfly/utils'
import { HttpBackend } from '@damselfly/backend'
import { OriginTimeoutError } from '@damselfly/types'
import { startOrigin } from '@damselfly/testkit'
import type { AddressInfo } from 'node:net'
import { damselfly, NO_DAEMON } from '../helpers/cli.js'
import { selfSigned } from '../helpers/certs.js'

describe('origins: http(s)', function () {
  this.timeout(60_000)
  let dir: string
  const data = randomBytes(3 * 1024 * 1024 + 5)

  before(async () => { dir = await mkdtemp(join(tmpdir(), 'dfly-http-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  describe('an https origin with a self-signed certificate', () => {
    let server: HttpsServer
    let url: string
    let caFile: string
    const seen: Array<{ key?: string, range?: string }> = []

    before(async () => {
      const cert = await selfSigned(dir)
      caFile = cert.certPath
      server = createHttpsServer({ cert: cert.cert, key: cert.key }, (req, res) => {
        seen.push({ key: req.headers['x-api-key'] as string | undefined, range: req.headers.range })
        if (req.headers['x-api-key'] !== 'k-123') { res.writeHead(403).end('no key'); return }
        const r = req.headers.range != null ? parseRange(req.headers.range, data.byteLength) : undefined
        if (r == null) { res.writeHead(200, { 'content-length': data.byteLength }).end(data); return }
        res.writeHead(206, { 'content-range': `bytes ${r.start}-${r.end}/${data.byteLength}`, 'content-length': r.end - r.start + 1 }).end(data.subarray(r.start, r.end + 1))
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/file.bin`
    })

    after(async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    })

    it('should refuse the certificate without --ca-file', async () => {
      const r = await damselfly(['get', url, '-O', join(dir, 'no-ca.bin'), '--api', NO_DAEMON, '--json', '-H', 'X-Api-Key: k-123'])
      assert.equal(r.code, 1)
      assert.match(r.result.error.message, /CERT|certificate|SELF_SIGNED/i)
      assert.equal(seen.length, 0, 'no request got through the TLS handshake')
    })

    it('should trust the certificate from --ca-file and pass -H headers to the origin', async () => {
      const r = await damselfly(['get', url, '-O', join(dir, 'ca.bin'), '--api', NO_DAEMON, '--json', '--ca-file', caFile, '-H', 'X-Api-Key: k-123'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.ok((await readFile(join(dir, 'ca.bin'))).equals(data))
      assert.ok(seen.length >= 2 && seen.every((s) => s.key === 'k-123'), JSON.stringify(seen))
    })
  })

  it('should retry 5xx answers and connection resets with backoff and still deliver identical bytes', async () => {
    await writeFile(join(dir, 'flaky.bin'), data)
    let failures = 0
    const origin = await startOrigin({
      files: { '/flaky.bin': join(dir, 'flaky.bin') },
      intercept: (req, res) => {
        // the first two probes get 503, the first body request a reset
        if (req.headers.range === 'bytes=0-0' && failures < 2) { failures++; res.writeHead(503).end(); return true }
        if (req.headers.range !== 'bytes=0-0' && failures === 2) { failures++; res.socket?.destroy(); return true }
        return false
      }
    })
    try {
      const r = await damselfly(['get', `${origin.url}/flaky.bin`, '-O', join(dir, 'flaky.out'), '--api', NO_DAEMON, '--json'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.ok((await readFile(join(dir, 'flaky.out'))).equals(data))
      assert.equal(failures, 3)
      // 2 failed probes + 1 probe, 1 reset + 1 good body request
      assert.equal(origin.requests, 5)
    } finally {
      await origin.stop()
    }
  })

  it('should give up with OriginTimeoutError when the origin sends nothing', async () => {
    const sockets = new Set<import('node:net').Socket>()
    const server: Server = createServer(() => { /* never answers */ })
    server.on('connection', (s) => sockets.add(s))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const backend = new HttpBackend({ idleTimeoutMs: 300, maxRetries: 1 })
    const started = Date.now()
    try {
      await assert.rejects(backend.stat(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, {}), OriginTimeoutError)
      assert.ok(Date.now() - started < 5000)
    } finally {
      await backend.close()
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
