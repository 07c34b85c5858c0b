import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeRandomFile, sha256File } from '@damselfly/testkit'
import { withLab } from '../helpers/fixtures.js'
import { HubStub } from '../helpers/hub-stub.js'
import { selfSigned, type SelfSigned } from '../helpers/certs.js'
import { run } from '../helpers/clients.js'

const PYTHON = '/usr/bin/python3'
/**
 * huggingface_hub is not packaged for Debian 12; .ci/run installs the machine's own wheel
 * of it (the local wheelhouse at /opt/pypi, no network) into this directory
 */
const HF_PYTHONPATH = process.env.DAMSELFLY_PYTHONPATH ?? '/opt/damselfly-python'

/** the environment a Python client runs in: no CA bundle or proxy variables from the machine */
function pyEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const k of ['REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy', 'HF_ENDPOINT', 'HF_TOKEN']) delete env[k]
  return { ...env, PYTHONPATH: HF_PYTHONPATH, HF_HUB_DISABLE_TELEMETRY: '1', HF_HUB_DISABLE_PROGRESS_BARS: '1', ...extra }
}

const DOWNLOAD = `
import hashlib, json, os, sys
from huggingface_hub import hf_hub_download, snapshot_download
repo, mode, cache = sys.argv[1], sys.argv[2], sys.argv[3]
token = os.environ['TEST_HF_TOKEN']
def sha(p):
  h = hashlib.sha256()
  with open(p, 'rb') as f:
    for b in iter(lambda: f.read(1 << 20), b''): h.update(b)
  return h.hexdigest()
if mode == 'file':
  p = hf_hub_download(repo_id=repo, filename='model.safetensors', cache_dir=cache, token=token)
  print(json.dumps({'model.safetensors': sha(p)}))
else:
  d = snapshot_download(repo_id=repo, cache_dir=cache, token=token)
  print(json.dumps({n: sha(os.path.join(d, n)) for n in sorted(os.listdir(d))}))
`

/**
 * Python's huggingface_hub (hf_hub_download, snapshot_download) against an
 * HTTPS hub, through two peers: as HF_ENDPOINT=<peer>/hf, and through
 * HTTPS_PROXY with the peer intercepting the hub and its CDN.
 */
describe('huggingface_hub through the peer proxy (endpoint mode and HTTPS interception)', function () {
  this.timeout(240_000)
  let cert: SelfSigned
  let hub: HubStub
  const SIZE = 10 * 1024 * 1024 + 99
  const REPO = 'acme/tiny-model'
  const TOKEN = 'hf_damselfly_test'
  let want: Record<string, string>

  // registered ahead of the fixture: a skip here skips its setup too
  before(async function () {
    const ok = await run(PYTHON, ['-c', 'import huggingface_hub'], { env: pyEnv({}) }).then(() => true, () => false)
    if (!ok) {
      process.stdout.write(`      skipped: Python huggingface_hub is not importable from ${HF_PYTHONPATH} (Debian 12 has no python3-huggingface-hub; .ci/run installs it there from the machine's wheelhouse /opt/pypi)\n`)
      this.skip()
    }
  })
  after(async () => {
    await hub?.stop()
  })
  const f = withLab({
    name: 'https-hf',
    lab: async ({ dir }) => {
      cert = await selfSigned(dir, 'hub')
      await writeRandomFile(join(dir, 'model.safetensors'), SIZE)
      await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'tiny', hidden_size: 8 }))
      want = { 'config.json': await sha256File(join(dir, 'config.json')), 'model.safetensors': await sha256File(join(dir, 'model.safetensors')) }
      hub = new HubStub({
        repo: REPO,
        commit: 'a'.repeat(40),
        token: TOKEN,
        tls: { cert: cert.cert, key: cert.key },
        // another host than the hub's, as on huggingface.co (the client follows same-host redirects itself)
        cdnHost: 'localhost',
        files: [
          { path: 'model.safetensors', file: join(dir, 'model.safetensors'), oid: 'b'.repeat(40), lfs: { sha256: want['model.safetensors'] } },
          { path: 'config.json', file: join(dir, 'config.json'), oid: 'c'.repeat(40) }
        ]
      })
      await hub.start()
      return {
        peers: 2,
        peerArgs: ['--hf-endpoint', hub.hubUrl, '--hijack-https', '127.0.0.1', '--hijack-https', 'localhost', '--ca-file', cert.certPath],
        seedArgs: ['--ca-file', cert.certPath],
        // the test hub and its CDN live on loopback, which the proxy refuses unless allow-listed
        proxyAllow: ['127.0.0.1', 'localhost']
      }
    }
  })

  const peer = (i: number): { proxy: string, ca: string } => ({ proxy: f.lab.endpoints!.peers[i].proxy!, ca: f.lab.endpoints!.peers[i].caCert! })
  const download = async (mode: 'file' | 'snapshot', env: Record<string, string>, cache: string): Promise<Record<string, string>> => {
    const { stdout } = await run(PYTHON, ['-c', DOWNLOAD, REPO, mode, join(f.dir, cache)], { env: pyEnv({ TEST_HF_TOKEN: TOKEN, ...env }) })
    return JSON.parse(stdout.trim().split('\n').pop()!)
  }

  it('should serve hf_hub_download and snapshot_download with HF_ENDPOINT=<peer>/hf, the CDN read once', async () => {
    const before = hub.cdnBytes
    for (const i of [0, 1]) {
      const got = await download('file', { HF_ENDPOINT: `${peer(i).proxy}/hf` }, `ep-file-${i}`)
      assert.equal(got['model.safetensors'], want['model.safetensors'])
    }
    const snap = await download('snapshot', { HF_ENDPOINT: `${peer(1).proxy}/hf` }, 'ep-snap')
    assert.deepEqual(snap, want)
    // one copy, plus at most a 1-byte access check per client request (each peer asks the origin whether this client may read it)
    assert.ok(hub.cdnBytes - before <= SIZE + 4, `the CDN sent ${hub.cdnBytes - before} bytes for a ${SIZE}-byte file`)
  })

  it('should serve hf_hub_download and snapshot_download through HTTPS_PROXY with the hub intercepted, the CDN read once', async () => {
    const before = hub.cdnBytes
    for (const i of [0, 1]) {
      // httpx (huggingface_hub's client) reads the proxy and the CA bundle from the environment
      const env = { HF_ENDPOINT: hub.hubUrl, HTTPS_PROXY: peer(i).proxy, SSL_CERT_FILE: peer(i).ca }
      const got = await download('file', env, `px-file-${i}`)
      assert.equal(got['model.safetensors'], want['model.safetensors'])
    }
    const snap = await download('snapshot', { HF_ENDPOINT: hub.hubUrl, HTTPS_PROXY: peer(0).proxy, SSL_CERT_FILE: peer(0).ca }, 'px-snap')
    assert.deepEqual(snap, want)
    // one copy, plus at most a 1-byte access check per client request (each peer asks the origin whether this client may read it)
    assert.ok(hub.cdnBytes - before <= SIZE + 4, `the CDN sent ${hub.cdnBytes - before} bytes for a ${SIZE}-byte file`)
  })
})
