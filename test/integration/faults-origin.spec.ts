import assert from 'node:assert/strict'
import { readdir, stat, open } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256File } from '@damselfly/testkit'
import { parseRange } from '@damselfly/utils'
import { getVia } from '@damselfly/cli'
import { withLab } from '../helpers/fixtures.js'
import { NO_DAEMON } from '../helpers/cli.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

const MiB = 1024 * 1024
const SIZE = 4 * MiB + 321
const GET_ARGS = ['--piece-length', String(MiB)]
const FAST = ['--origin-timeout', '1000', '--origin-retries', '2', '--stall-timeout', '4000']

type Fault = (req: IncomingMessage, res: ServerResponse, hit: number) => boolean

describe('faults: a misbehaving origin', function () {
  this.timeout(120_000)
  const faults = new Map<string, Fault>()
  const hits = new Map<string, number>()
  const stalled: ServerResponse[] = []

  /** Sends the first `n` bytes of the requested range with headers promising all of it. */
  async function partial (req: IncomingMessage, res: ServerResponse, n: number, promise = 0): Promise<void> {
    const size = (await stat(file())).size
    const r = req.headers.range != null ? parseRange(req.headers.range, size) : { start: 0, end: size - 1 }
    const { start, end } = r ?? { start: 0, end: size - 1 }
    res.writeHead(req.headers.range != null ? 206 : 200, {
      'content-length': end - start + 1 + promise,
      'accept-ranges': 'bytes',
      etag: `"${size}"`,
      ...(req.headers.range != null ? { 'content-range': `bytes ${start}-${end}/${size}` } : {})
    })
    const fh = await open(file())
    const buf = Buffer.alloc(Math.min(n, end - start + 1))
    await fh.read(buf, 0, buf.byteLength, start)
    await fh.close()
    res.write(buf)
  }

  after(() => { for (const res of stalled) res.destroy() })
  // one file under a name per fault, once for standalone gets and once (`d-`) for the daemon's
  const f = withLab({
    name: 'faults-origin',
    files: { 'blob.bin': SIZE },
    aliases: Object.fromEntries(['5xx', 'always-500', 'reset', 'truncated', 'wrong-length', 'stall', 'stall-forever'].flatMap((n) => [`/${n}.bin`, `/d-${n}.bin`]).map((p) => [p, 'blob.bin'])),
    origin: {
      intercept: (req, res, path) => {
        const name = path.replace(/^\/(d-)?/, '/')
        const fault = faults.get(name)
        // the 1-byte size probe is left alone: the faults are about the body
        if (fault == null || req.headers.range === 'bytes=0-0') return false
        const hit = (hits.get(path) ?? 0) + 1
        hits.set(path, hit)
        return fault(req, res, hit)
      }
    },
    lab: { peers: 1, peerArgs: FAST, seedArgs: FAST }
  })
  const file = (): string => join(f.dir, 'blob.bin')

  faults.set('/5xx.bin', (_req, res, hit) => { if (hit > 2) return false; res.writeHead(503).end('busy'); return true })
  faults.set('/always-500.bin', (_req, res) => { res.writeHead(500).end('broken'); return true })
  faults.set('/reset.bin', (req, res, hit) => {
    if (hit > 1) return false
    partial(req, res, MiB + 17).then(() => { res.socket?.resetAndDestroy() }, () => res.destroy())
    return true
  })
  faults.set('/truncated.bin', (req, res, hit) => {
    if (hit > 1) return false
    partial(req, res, 2 * MiB + 5).then(() => { res.socket?.end() }, () => res.destroy())
    return true
  })
  faults.set('/wrong-length.bin', (req, res) => {
    // claims more than it ever sends, every time
    partial(req, res, SIZE, 4096).then(() => { res.socket?.end() }, () => res.destroy())
    return true
  })
  faults.set('/stall.bin', (req, res, hit) => {
    if (hit > 1) return false
    partial(req, res, MiB).then(() => { stalled.push(res) }, () => res.destroy())
    return true
  })
  faults.set('/stall-forever.bin', (req, res) => {
    partial(req, res, 1000).then(() => { stalled.push(res) }, () => res.destroy())
    return true
  })

  async function noLeftovers (): Promise<void> {
    assert.deepEqual((await readdir(join(f.dir, 'out')).catch(() => [])).filter((n) => n.endsWith('.tmp')), [], 'temporary files left beside the output')
  }

  for (const via of ['standalone', 'daemon'] as const) {
    const api = (): string | { api: string, apiToken: string } => via === 'standalone' ? NO_DAEMON : f.lab.endpoints!.peers[0]
    const url = (name: string): string => `${f.origin.url}/${via === 'daemon' ? 'd-' : ''}${name}.bin`
    const out = (name: string): string => join(f.dir, 'out', `${via}-${name}.bin`)

    for (const name of ['5xx', 'reset', 'truncated', 'stall'] as const) {
      if (name === 'stall' && via === 'standalone') continue // standalone uses the default 30 s origin timeout
      it(`should retry and finish correctly after a transient ${name} (${via})`, async () => {
        const r = await getVia(api(), url(name), out(name), GET_ARGS)
        assert.equal(r.ok, true, JSON.stringify(r))
        assert.equal(await sha256File(out(name)), f.sha['blob.bin'])
        assert.ok((hits.get(new URL(url(name)).pathname) ?? 0) >= 2, 'the fault was injected and a retry followed')
        await noLeftovers()
      })
    }

    for (const [name, message] of [['always-500', /500/], ['wrong-length', /ended early|closed|terminated|socket|length/i], ['stall-forever', /timed out|timeout|ended early|terminated/i]] as const) {
      if (name === 'stall-forever' && via === 'standalone') continue
      it(`should give up with a clear error and write nothing on ${name} (${via})`, async () => {
        const started = Date.now()
        const r = await getVia(api(), url(name), out(name), GET_ARGS)
        assert.equal(r.ok, false, JSON.stringify(r))
        assert.match(r.error?.message ?? '', message)
        await assert.rejects(stat(out(name)), { code: 'ENOENT' }, 'something was written under the output name')
        await noLeftovers()
        // retried, with backoff, but bounded
        assert.ok((hits.get(new URL(url(name)).pathname) ?? 0) >= 2, 'gave up without retrying')
        assert.ok(Date.now() - started < 60_000, `took ${Date.now() - started} ms to give up`)
      })
    }
  }
})
