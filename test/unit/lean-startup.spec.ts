import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { fetchSchedulerInfo } from '@damselfly/scheduler-client'
import { SchedulerUnavailableError } from '@damselfly/types'
import { NO_SCHEMA_COMPILERS } from '@damselfly/utils'

const BIN = fileURLToPath(new URL('../../../cli/dist/bin/', import.meta.url))

/** The bundle's chunks a chunk imports statically (what loads with it, before any `import()`). */
function staticClosure (start: string): Set<string> {
  const seen = new Set<string>()
  const todo = [start]
  while (todo.length > 0) {
    const f = todo.pop()!
    if (seen.has(f)) continue
    seen.add(f)
    const text = readFileSync(BIN + f, 'utf8')
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s*"\.\/([^"]+)"|(?:^|\n)import\s*"\.\/([^"]+)"/g)) todo.push(m[1] ?? m[2])
  }
  return seen
}

function chunkDefining (marker: string): string {
  const found = readdirSync(BIN).filter((f) => f.endsWith('.js') && readFileSync(BIN + f, 'utf8').includes(marker))
  assert.equal(found.length, 1, `one chunk defines ${marker}: ${found.join(', ')}`)
  return found[0]
}

describe('lean start-up', () => {
  it('should not load undici, the daemon or the client with the scheduler, nor the scheduler with a daemon, nor prom-client with the client', () => {
    // a daemon loads undici at start on purpose: every download first asks the origin for access
    assert.ok(!staticClosure(chunkDefining('function schedulerCommand(')).has(chunkDefining('node_modules/undici/index.js')), 'the scheduler loads undici')
    // a client serves no metrics
    assert.ok(!staticClosure(chunkDefining('function getCommand(')).has(chunkDefining('node_modules/prom-client/index.js')), 'get loads prom-client')
    // no role loads another's implementation
    const roles = ['function roleCommand(', 'function schedulerCommand(', 'function getCommand(']
    for (const a of roles) {
      for (const b of roles) if (a !== b) assert.ok(!staticClosure(chunkDefining(a)).has(chunkDefining(b)), `${a} loads ${b}`)
    }
  })

  it('should refuse a route schema when the app starts, and serve JSON without one', async () => {
    const plain = Fastify({ logger: false, schemaController: NO_SCHEMA_COMPILERS })
    plain.get('/x', async () => ({ a: 1 }))
    const res = await plain.inject('/x')
    assert.deepEqual(res.json(), { a: 1 })
    await plain.close()
    const withSchema = Fastify({ logger: false, schemaController: NO_SCHEMA_COMPILERS })
    withSchema.post('/y', { schema: { body: { type: 'object' } } }, async () => 'ok')
    await assert.rejects(async () => { await withSchema.ready() }, /route schemas are not used/)
  })
})

describe('the scheduler\'s /api/v1/info', () => {
  let server: Server
  let url: string
  let answer: (res: import('node:http').ServerResponse) => void

  before(async () => {
    server = createServer((req, res) => {
      assert.equal(req.url, '/api/v1/info')
      answer(res)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => { server.close() })

  it('should read the peer id and addresses', async () => {
    answer = (res) => { res.end(JSON.stringify({ peerId: '12D3KooWabc', addrs: ['/ip4/127.0.0.1/tcp/1'], extra: true })) }
    assert.deepEqual(await fetchSchedulerInfo(url), { peerId: '12D3KooWabc', addrs: ['/ip4/127.0.0.1/tcp/1'] })
  })

  it('should refuse an error status, a wrong shape, garbage and an endless answer with a clear error', async () => {
    const cases: Array<[string, (res: import('node:http').ServerResponse) => void, RegExp]> = [
      ['503', (res) => { res.statusCode = 503; res.end('busy') }, /answered 503/],
      ['no addrs', (res) => { res.end(JSON.stringify({ peerId: 'x' })) }, /no peer id and addresses/],
      ['addrs not strings', (res) => { res.end(JSON.stringify({ peerId: 'x', addrs: [1] })) }, /no peer id and addresses/],
      ['not JSON', (res) => { res.end('<html>') }, /no peer id and addresses/],
      ['endless', (res) => {
        const chunk = Buffer.alloc(16 * 1024, 0x20)
        const more = (): void => { while (res.write(chunk)); }
        res.on('drain', more)
        res.on('close', () => { res.off('drain', more) })
        more()
      }, /unreachable/]
    ]
    for (const [name, a, message] of cases) {
      answer = a
      await assert.rejects(fetchSchedulerInfo(url), (err: any) => {
        assert.ok(err instanceof SchedulerUnavailableError, `${name}: ${String(err)}`)
        assert.match(err.message, message, name)
        return true
      })
    }
  })

  it('should say the scheduler is unreachable when nothing listens', async () => {
    const closed = createServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const port = (closed.address() as AddressInfo).port
    closed.close()
    await once(closed, 'close')
    await assert.rejects(fetchSchedulerInfo(`http://127.0.0.1:${port}`), /unreachable: ECONNREFUSED/)
  })
})
