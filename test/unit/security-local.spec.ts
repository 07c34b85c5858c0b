import assert from 'node:assert/strict'
import { lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { DestinationPolicy, ProxyServer, addressClass } from '@damselfly/proxy'
import { exportTarget, exportTo } from '@damselfly/task-engine'
import { redactUrl, silentLogger } from '@damselfly/utils'

describe('URL redaction', () => {
  it('should hide userinfo and credential parameters and keep the rest of the URL as given', () => {
    assert.equal(redactUrl('https://alice:pw@host.example/a/b.bin?X-Amz-Signature=abc&X-Amz-Credential=AKIA%2Fx&part=1&X-Amz-Security-Token=t'),
      'https://***@host.example/a/b.bin?X-Amz-Signature=***&X-Amz-Credential=***&part=1&X-Amz-Security-Token=***')
    assert.equal(redactUrl('https://x.blob.core.windows.net/c/f?sv=2021&sig=SECRET&se=2030'), 'https://x.blob.core.windows.net/c/f?sv=2021&sig=***&se=2030')
    assert.equal(redactUrl('https://api.example/f?access_token=a&api_key=b&token=c&key=d&q=e'), 'https://api.example/f?access_token=***&api_key=***&token=***&key=***&q=e')
    assert.equal(redactUrl('https://storage.googleapis.com/b/o?X-Goog-Signature=s&X-Goog-Credential=c'), 'https://storage.googleapis.com/b/o?X-Goog-Signature=***&X-Goog-Credential=***')
    assert.equal(redactUrl('https://plain.example/file.bin'), 'https://plain.example/file.bin')
    assert.equal(redactUrl('oci://registry:5000/library/app/blobs/sha256:abc'), 'oci://registry:5000/library/app/blobs/sha256:abc')
    assert.equal(redactUrl('not a url with a secret'), '<invalid url>')
  })
})

describe('proxy destination policy', () => {
  it('should class loopback, link-local, private, unspecified and mapped addresses, and leave public ones alone', () => {
    for (const [a, kind] of [
      ['127.0.0.1', 'loopback'], ['::1', 'loopback'], ['::ffff:127.0.0.1', 'loopback'], ['0.0.0.0', 'unspecified'], ['::', 'unspecified'],
      ['169.254.169.254', 'link-local'], ['fe80::1', 'link-local'], ['10.255.255.1', 'private'], ['172.31.0.1', 'private'],
      ['192.168.1.1', 'private'], ['fd12::1', 'private'], ['100.64.0.1', 'private'], ['::ffff:10.0.0.1', 'private']
    ]) assert.equal(addressClass(a), kind, a)
    for (const a of ['93.184.216.34', '172.32.0.1', '2606:4700::1111', '8.8.8.8']) assert.equal(addressClass(a), undefined, a)
  })

  it('should let allow entries (host:port, host, CIDR, *.suffix) open exactly what they name, never the daemon\'s own ports by host alone', async () => {
    const policy = new DestinationPolicy({ allow: ['127.0.0.1:8080', '10.1.0.0/16', 'registry.internal', '*.corp.example:443', '[::1]:9000'], ownPorts: [65002] })
    assert.equal(policy.refusal('127.0.0.1', '127.0.0.1', 8080), undefined)
    assert.match(policy.refusal('127.0.0.1', '127.0.0.1', 8081) ?? '', /loopback/)
    assert.equal(policy.refusal('10.1.2.3', '10.1.2.3', 22), undefined)
    assert.match(policy.refusal('10.2.0.1', '10.2.0.1', 80) ?? '', /private/)
    assert.equal(policy.refusal('registry.internal', '10.9.9.9', 5000), undefined)
    assert.equal(policy.refusal('a.corp.example', '192.168.0.9', 443), undefined)
    assert.match(policy.refusal('a.corp.example', '192.168.0.9', 80) ?? '', /private/)
    assert.equal(policy.refusal('::1', '::1', 9000), undefined)
    // an entry naming the host without a port does not open the daemon's own listeners
    const wide = new DestinationPolicy({ allow: ['127.0.0.1'], ownPorts: [65002] })
    assert.equal(wide.refusal('127.0.0.1', '127.0.0.1', 5000), undefined)
    assert.match(wide.refusal('127.0.0.1', '127.0.0.1', 65002) ?? '', /own listener/)
    await assert.rejects(wide.check('localhost', 65002), { code: 'ERR_DESTINATION_FORBIDDEN' })
    await assert.rejects(new DestinationPolicy().check('localhost', 80), { code: 'ERR_DESTINATION_FORBIDDEN' })
    assert.throws(() => new DestinationPolicy({ allow: ['bad entry!'] }))
  })
})

describe('proxy limits', () => {
  let target: Server
  let proxy: ProxyServer
  const held: Socket[] = []

  before(async () => {
    target = createServer((s) => { held.push(s) })
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve))
    const port = (target.address() as AddressInfo).port
    proxy = new ProxyServer({ engine: { download: async () => await Promise.reject(new Error('unused')) }, log: silentLogger() },
      { port: 0, allow: [`127.0.0.1:${port}`], maxTunnels: 2, idleTimeoutMs: 300 })
    await proxy.start()
  })

  after(async () => {
    for (const s of held) s.destroy()
    await proxy?.stop()
    await new Promise((resolve) => target?.close(resolve))
  })

  const open = async (): Promise<{ socket: Socket, status: number }> => {
    const u = new URL(proxy.url)
    const socket = connect(Number(u.port), u.hostname)
    await once(socket, 'connect')
    socket.write(`CONNECT 127.0.0.1:${(target.address() as AddressInfo).port} HTTP/1.1\r\n\r\n`)
    const [chunk] = await once(socket, 'data') as [Buffer]
    return { socket, status: Number(/^HTTP\/1\.1 (\d+)/.exec(chunk.toString())?.[1]) }
  }

  it('should refuse tunnels beyond its limit with 503 and close idle ones', async () => {
    const a = await open()
    const b = await open()
    assert.equal(a.status, 200)
    assert.equal(b.status, 200)
    const c = await open()
    assert.equal(c.status, 503)
    // both tunnels idle: closed after the idle timeout, which frees their places
    await Promise.all([once(a.socket, 'close'), once(b.socket, 'close')])
    const d = await open()
    assert.equal(d.status, 200)
    d.socket.destroy()
    c.socket.destroy()
  })
})

describe('export roots', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'dfly-roots-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('should allow only paths strictly inside a root, following symlinks, and create nothing when refusing', async () => {
    const root = join(dir, 'root')
    await mkdir(root)
    await mkdir(join(dir, 'outside'))
    await symlink(join(dir, 'outside'), join(root, 'escape'))
    assert.equal(await exportTarget(join(root, 'a', 'b.bin'), [root]), join(root, 'a', 'b.bin'))
    for (const bad of [join(root, 'escape', 'x', 'y.bin'), join(root, '..', 'z.bin'), root, 'rel.bin', join(dir, 'outside', 'q.bin')]) {
      await assert.rejects(exportTarget(bad, [root]), { code: 'ERR_EXPORT_FORBIDDEN' }, bad)
    }
    await assert.rejects(exportTarget(join(root, 'ok.bin'), []), { code: 'ERR_EXPORT_FORBIDDEN' })
    const data = join(dir, 'data.bin')
    await writeFile(data, 'content')
    await assert.rejects(exportTo(data, join(root, 'escape', 'deep', 'evil.js'), { roots: [root] }), { code: 'ERR_EXPORT_FORBIDDEN' })
    assert.deepEqual(await readdir(join(dir, 'outside')), [])
    assert.equal(await lstat(join(root, 'a')).then(() => true, () => false), false, 'exportTarget created a directory')
  })
})
