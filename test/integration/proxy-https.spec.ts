import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startOrigin, writeRandomFile, sha256File, type Origin } from '@damselfly/testkit'
import { withLab } from '../helpers/fixtures.js'
import { fetchJson } from '@damselfly/testkit'
import { selfSigned, type SelfSigned } from '../helpers/certs.js'
import { baseEnv, clientOrSkip, GO_LOOPBACK, run, which } from '../helpers/clients.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

const PYTHON = '/usr/bin/python3'
/**
 * Real HTTPS clients using a peer as HTTPS_PROXY while the peer intercepts
 * the origin's host (`--hijack-https 127.0.0.1`) with its own CA: each client
 * trusts that CA, the peer verifies the real origin's certificate (`--ca-file`),
 * and large GETs through two different peers read the origin about once.
 */
describe('HTTPS interception for real clients', function () {
  this.timeout(240_000)
  let cert: SelfSigned
  let origin: Origin
  /** a second HTTPS origin, on a host the peers do not intercept */
  let other: Origin
  const SIZE = 12 * 1024 * 1024 + 777
  const LFS_SIZE = 9 * 1024 * 1024 + 55
  let lfsOid: string
  let wheelName: string
  let wheelSha: string

  /** the LFS batch API and a PEP 503 package index, beside the plain files */
  const intercept = (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
    if (req.method === 'POST' && path === '/lfs/objects/batch') {
      let body = ''
      req.on('data', (c: Buffer) => { body += c.toString() })
      req.on('end', () => {
        const ask = JSON.parse(body) as { objects: Array<{ oid: string, size: number }> }
        const objects = ask.objects.map((o) => o.oid === lfsOid
          ? { oid: o.oid, size: o.size, authenticated: true, actions: { download: { href: `${origin.url.replace('127.0.0.1', GO_LOOPBACK)}/lfs/objects/${o.oid}`, expires_in: 3600 } } }
          : { oid: o.oid, size: o.size, error: { code: 404, message: 'not found' } })
        const out = JSON.stringify({ transfer: 'basic', objects, hash_algo: 'sha256' })
        res.writeHead(200, { 'content-type': 'application/vnd.git-lfs+json', 'content-length': Buffer.byteLength(out) }).end(out)
      })
      return true
    }
    if (req.method === 'GET' && (path === '/simple/dfly-blob/' || path === '/simple/dfly-blob')) {
      const html = `<!DOCTYPE html><html><body><a href="/files/${wheelName}#sha256=${wheelSha}">${wheelName}</a></body></html>\n`
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(html) }).end(html)
      return true
    }
    return false
  }

  after(async () => {
    await origin?.stop()
    await other?.stop()
  })
  // the origins' certificate and file names come from files written first: both start in the lab step
  const f = withLab({
    name: 'https',
    lab: async ({ dir }) => {
      cert = await selfSigned(dir, 'origin', [GO_LOOPBACK])
      await writeRandomFile(join(dir, 'weights.bin'), SIZE)
      await writeRandomFile(join(dir, 'lfs.bin'), LFS_SIZE)
      lfsOid = await sha256File(join(dir, 'lfs.bin'))
      await writeFile(join(dir, 'notes.txt'), 'not for the swarm\n')
      const wheel = await makeWheel(dir)
      wheelName = wheel.name
      wheelSha = wheel.sha256
      origin = await startOrigin({
        tls: { cert: cert.cert, key: cert.key },
        intercept,
        files: {
          '/models/weights.safetensors': join(dir, 'weights.bin'),
          '/notes.txt': join(dir, 'notes.txt'),
          [`/lfs/objects/${lfsOid}`]: join(dir, 'lfs.bin'),
          [`/files/${wheelName}`]: wheel.path
        }
      })
      other = await startOrigin({ tls: { cert: cert.cert, key: cert.key }, files: { '/models/other.safetensors': join(dir, 'notes.txt') } })
      return {
        peers: 2,
        // peers intercept the origin's host and trust its certificate when they reach it (relays, back-to-source)
        peerArgs: ['--hijack-https', '127.0.0.1', '--hijack-https', GO_LOOPBACK, '--ca-file', cert.certPath],
        seedArgs: ['--ca-file', cert.certPath],
        // the test origins live on loopback, which the proxy refuses unless allow-listed
        proxyAllow: ['127.0.0.1', 'localhost']
      }
    }
  })

  const peer = (i: number): { proxy: string, ca: string, api: string } => {
    const p = f.lab.endpoints!.peers[i]
    return { proxy: p.proxy!, ca: p.caCert!, api: p.api }
  }
  const env = (i: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...baseEnv(), HTTPS_PROXY: peer(i).proxy, https_proxy: peer(i).proxy, ...extra })
  const fullGets = (path: string): number => origin.requestLog.filter((r) => r.path === path && r.method === 'GET' && r.range !== 'bytes=0-0').length

  it('should keep each peer\'s CA in its data dir, the key readable by its owner only', async () => {
    for (const p of f.lab.endpoints!.peers) {
      assert.equal(p.caCert, join(p.dataDir, 'ca.crt'))
      const { stdout } = await run('openssl', ['x509', '-in', p.caCert!, '-noout', '-subject', '-ext', 'basicConstraints'])
      assert.match(stdout, /CA:TRUE/)
      const { stdout: mode } = await run('stat', ['-c', '%a', join(p.dataDir, 'ca.key')])
      assert.equal(mode.trim(), '600')
    }
  })

  it('should serve curl through two peers from one origin read, with Range', async function () {
    const curl = await clientOrSkip(this, 'curl')
    const url = `${origin.url}/models/weights.safetensors`
    const want = await sha256File(join(f.dir, 'weights.bin'))
    const before = origin.bytesServed
    for (const i of [0, 1]) {
      await run(curl, ['-sSf', '--cacert', peer(i).ca, '-o', join(f.dir, `curl-${i}.bin`), url], { env: env(i) })
      assert.equal(await sha256File(join(f.dir, `curl-${i}.bin`)), want)
    }
    // the seed's one pass plus its 1-byte size probe
    // one copy, plus at most a 1-byte access check per client request (the peer asks the origin whether this client may read it)
    assert.ok(origin.bytesServed - before <= SIZE + 4, `origin served ${origin.bytesServed - before} bytes for a ${SIZE}-byte file`)
    assert.equal(fullGets('/models/weights.safetensors'), 1)
    const tasks = await fetchJson<any[]>(`${peer(1).api}/api/v1/tasks`)
    const t = tasks.find((x) => x.contentLength === SIZE)
    assert.equal(t.bytesFromOrigin, 0)
    assert.equal(t.bytesFromPeers + t.bytesFromSeed, SIZE)

    const r = await run(curl, ['-sSf', '--cacert', peer(1).ca, '-r', '3000000-5000000', '-o', join(f.dir, 'curl-range.bin'), '-w', '%{http_code}', url], { env: env(1) })
    assert.equal(r.stdout, '206')
    assert.deepEqual(await readFile(join(f.dir, 'curl-range.bin')), (await readFile(join(f.dir, 'weights.bin'))).subarray(3_000_000, 5_000_001))
  })

  it('should refuse a client that does not trust the peer\'s CA, and relay what no rule sends to P2P', async function () {
    const curl = await clientOrSkip(this, 'curl')
    // the origin's own certificate is not what the peer presents
    await assert.rejects(run(curl, ['-sSf', '--cacert', cert.certPath, '-o', '/dev/null', `${origin.url}/notes.txt`], { env: env(0) }), /SSL|certificate|\(60\)/i)
    const requests = origin.requests
    const { stdout } = await run(curl, ['-sSf', '--cacert', peer(0).ca, `${origin.url}/notes.txt`], { env: env(0) })
    assert.equal(stdout, 'not for the swarm\n')
    assert.equal(origin.requests, requests + 1, 'relayed to the origin once')
  })

  it('should tunnel unlisted hosts end to end', async function () {
    const curl = await clientOrSkip(this, 'curl')
    // `localhost` is not intercepted: the client sees the origin's own certificate
    const url = `${other.url.replace('127.0.0.1', 'localhost')}/models/other.safetensors`
    const { stdout } = await run(curl, ['-sSf', '--cacert', cert.certPath, url], { env: env(0) })
    assert.equal(stdout, 'not for the swarm\n')
    assert.equal(other.requests, 1)
    await assert.rejects(run(curl, ['-sSf', '--cacert', peer(0).ca, '-o', '/dev/null', url], { env: env(0) }), /SSL|certificate|\(60\)/i)
  })

  it('should give aria2c\'s parallel ranges byte-identical output from the swarm', async function () {
    const aria2c = await clientOrSkip(this, 'aria2c', 'aria2')
    const before = origin.bytesServed
    await run(aria2c, ['-q', '-x4', '-s4', '-k1M', '--allow-overwrite=true', '--auto-file-renaming=false',
      `--all-proxy=${peer(1).proxy}`, `--ca-certificate=${peer(1).ca}`, '-d', f.dir, '-o', 'aria.bin', `${origin.url}/models/weights.safetensors`])
    assert.equal(await sha256File(join(f.dir, 'aria.bin')), await sha256File(join(f.dir, 'weights.bin')))
    assert.equal(origin.bytesServed, before, 'aria2c was served from the swarm, not the origin')
  })

  it('should serve git lfs pull of an LFS object through two peers from one origin read', async function () {
    await clientOrSkip(this, 'git')
    if (await which('git-lfs') == null) await clientOrSkip(this, 'git-lfs')
    const home = join(f.dir, 'git-home')
    await mkdir(home, { recursive: true })
    const genv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...baseEnv(), HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t', ...extra })
    await run('git', ['lfs', 'install', '--skip-repo'], { env: genv() })
    const src = join(f.dir, 'lfs-src')
    await mkdir(src)
    await run('git', ['init', '-q', '-b', 'main', src], { env: genv() })
    await writeFile(join(src, '.gitattributes'), '*.bin filter=lfs diff=lfs merge=lfs -text\n')
    // the pointer is committed as is: the object lives only on the LFS server
    await writeFile(join(src, 'model.bin'), `version https://git-lfs.github.com/spec/v1\noid sha256:${lfsOid}\nsize ${LFS_SIZE}\n`)
    await run('git', ['-C', src, 'add', '.'], { env: genv() })
    await run('git', ['-C', src, 'commit', '-q', '-m', 'model'], { env: genv() })
    const before = origin.bytesServed
    for (const i of [0, 1]) {
      const clone = join(f.dir, `lfs-clone-${i}`)
      await run('git', ['clone', '-q', src, clone], { env: genv({ GIT_LFS_SKIP_SMUDGE: '1' }) })
      await run('git', ['-C', clone, 'config', 'lfs.url', `${origin.url.replace('127.0.0.1', GO_LOOPBACK)}/lfs`], { env: genv() })
      await run('git', ['-C', clone, 'config', 'http.sslCAInfo', peer(i).ca], { env: genv() })
      await run('git', ['-C', clone, 'lfs', 'pull'], { env: genv({ HTTPS_PROXY: peer(i).proxy }) })
      assert.equal(await sha256File(join(clone, 'model.bin')), lfsOid)
    }
    assert.equal(fullGets(`/lfs/objects/${lfsOid}`), 1, 'one origin GET of the object for both clones')
    // one copy, plus the 1-byte access checks
    assert.ok(origin.bytesServed - before <= LFS_SIZE + 4, `origin served ${origin.bytesServed - before} bytes for a ${LFS_SIZE}-byte object`)
  })

  it('should serve Python requests and pip download of a wheel from an HTTPS index through two peers', async function () {
    if (await which('python3') == null) this.skip()
    const hasRequests = await run(PYTHON, ['-c', 'import requests']).then(() => true, () => false)
    if (!hasRequests) { process.stdout.write('      skipped: Debian python3-requests is not installed (.ci/run installs it)\n'); this.skip() }
    const before = origin.bytesServed
    const wheelUrl = `${origin.url}/files/${wheelName}`
    const script = 'import hashlib, requests, sys\nr = requests.get(sys.argv[1], timeout=60)\nr.raise_for_status()\nprint(hashlib.sha256(r.content).hexdigest())\n'
    const viaRequests = await run(PYTHON, ['-c', script, wheelUrl], { env: env(0, { REQUESTS_CA_BUNDLE: peer(0).ca }) })
    assert.equal(viaRequests.stdout.trim(), wheelSha)
    const hasPip = await run(PYTHON, ['-m', 'pip', '--version']).then(() => true, () => false)
    if (!hasPip) { process.stdout.write('      skipped: Debian python3-pip is not installed (.ci/run installs it)\n'); this.skip() }
    const out = join(f.dir, 'pip-out')
    await run(PYTHON, ['-m', 'pip', 'download', '--isolated', '--no-deps', '--no-cache-dir', '--disable-pip-version-check',
      '--index-url', `${origin.url}/simple/`, '--proxy', peer(1).proxy, '--cert', peer(1).ca, '-d', out, 'dfly-blob==1.0'], { env: env(1) })
    assert.equal(await sha256File(join(out, wheelName)), wheelSha)
    assert.equal(fullGets(`/files/${wheelName}`), 1, 'one origin GET of the wheel for both clients')
    const wheelSize = (await readFile(join(out, wheelName))).byteLength
    assert.ok(origin.bytesServed - before <= wheelSize + 4 + 4096, `origin served ${origin.bytesServed - before} bytes for a ${wheelSize}-byte wheel`)
  })
})

/** A real (installable) wheel with an 8 MiB incompressible payload, made by Debian's python. */
async function makeWheel (dir: string): Promise<{ path: string, name: string, sha256: string }> {
  const name = 'dfly_blob-1.0-py3-none-any.whl'
  const path = join(dir, name)
  const script = `
import base64, hashlib, os, sys, zipfile
files = {
  'dfly_blob/__init__.py': b'',
  'dfly_blob/blob.bin': os.urandom(8 * 1024 * 1024),
  'dfly_blob-1.0.dist-info/METADATA': b'Metadata-Version: 2.1\\nName: dfly-blob\\nVersion: 1.0\\n',
  'dfly_blob-1.0.dist-info/WHEEL': b'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
}
def rec(data):
  return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
record = ''.join(f'{n},{rec(d)},{len(d)}\\n' for n, d in files.items()) + 'dfly_blob-1.0.dist-info/RECORD,,\\n'
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:
  for n, d in files.items(): z.writestr(n, d)
  z.writestr('dfly_blob-1.0.dist-info/RECORD', record)
`
  await run(PYTHON, ['-c', script, path])
  const sha256 = createHash('sha256').update(await readFile(path)).digest('hex')
  return { path, name, sha256 }
}
