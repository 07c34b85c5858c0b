import assert from 'node:assert/strict'
import { join, resolve } from 'node:path'
import { parseHfUrl, formatHfUrl, parseOciUrl, parseChallenge, parseS3Url, createBackends } from '@damselfly/backend'
import { safeJoin } from '@damselfly/utils'
import { InvalidUrlError, UnsafePathError, UnsupportedSchemeError } from '@damselfly/types'

describe('origin URLs', () => {
  it('should parse hf:// URLs with repo types, paths and revisions in both spellings', () => {
    assert.deepEqual(parseHfUrl('hf://acme/tiny'), { type: 'models', repo: 'acme/tiny', path: '', revision: 'main' })
    assert.deepEqual(parseHfUrl('hf://datasets/acme/corpus/data/train.csv@v1'), { type: 'datasets', repo: 'acme/corpus', path: 'data/train.csv', revision: 'v1' })
    // after the repo the revision is one segment (slashes percent-encoded, as huggingface_hub writes it); after the path it runs to the end
    assert.deepEqual(parseHfUrl('hf://acme/tiny@refs%2Fpr%2F1'), { type: 'models', repo: 'acme/tiny', path: '', revision: 'refs/pr/1' })
    assert.deepEqual(parseHfUrl('hf://acme/tiny/x.bin@refs/pr/1'), { type: 'models', repo: 'acme/tiny', path: 'x.bin', revision: 'refs/pr/1' })
    assert.deepEqual(parseHfUrl('hf://acme/tiny@dev/sub/x.bin'), { type: 'models', repo: 'acme/tiny', path: 'sub/x.bin', revision: 'dev' })
    assert.equal(formatHfUrl(parseHfUrl('hf://datasets/acme/corpus/a/b@abc')), 'hf://datasets/acme/corpus/a/b@abc')
    assert.deepEqual(parseHfUrl(formatHfUrl({ type: 'models', repo: 'a/b', path: '', revision: 'refs/pr/1' })).revision, 'refs/pr/1')
    assert.throws(() => parseHfUrl('hf://acme'), InvalidUrlError)
  })

  it('should parse oci:// blob URLs and keep credentials out of the way', () => {
    const hex = 'a'.repeat(64)
    assert.deepEqual(parseOciUrl(`oci://127.0.0.1:5000/library/app/blobs/sha256:${hex.toUpperCase()}`),
      { host: '127.0.0.1:5000', name: 'library/app', digest: `sha256:${hex}`, username: undefined, password: undefined })
    const withCreds = parseOciUrl(`oci://u%40x:p%3Aw@reg.example/app/blobs/sha256:${hex}`)
    assert.equal(withCreds.username, 'u@x')
    assert.equal(withCreds.password, 'p:w')
    assert.throws(() => parseOciUrl('oci://reg.example/app/manifests/latest'), InvalidUrlError)
  })

  it('should parse a registry WWW-Authenticate challenge', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'),
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' } })
    assert.equal(parseChallenge('Basic realm="x"').scheme, 'basic')
  })

  it('should parse s3:// URLs with percent-encoded keys', () => {
    assert.deepEqual(parseS3Url('s3://bucket/a%20b/c.bin'), { bucket: 'bucket', key: 'a b/c.bin' })
    assert.throws(() => parseS3Url('s3://bucket'), InvalidUrlError)
  })

  it('should keep listed paths inside the output directory', () => {
    assert.equal(safeJoin('/tmp/out', 'a/b.bin'), join(resolve('/tmp/out'), 'a/b.bin'))
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', '..', '', 'a/..', 'C:\\x', 'a\\..\\..\\x']) {
      assert.throws(() => safeJoin('/tmp/out', bad), UnsafePathError, bad)
    }
  })

  it('should choose backends by scheme', async () => {
    const b = createBackends()
    try {
      for (const s of ['http', 'https', 'oci', 's3', 'hf']) assert.ok(b.forUrl(`${s}://x/y/z`).schemes.includes(s))
      assert.throws(() => b.forUrl('ftp://x/y'), UnsupportedSchemeError)
    } finally { await b.close() }
  })
})

describe('credentials in URLs', () => {
  it('should move user:pass@ into an Authorization header so the task name carries no password', async () => {
    const { credentialsToHeader } = await import('@damselfly/cli')
    const hex = 'b'.repeat(64)
    const out = credentialsToHeader(`oci://al%40ice:p%3Ass@reg.example:5000/app/blobs/sha256:${hex}`, { 'x-other': '1' })
    assert.equal(out.url, `oci://reg.example:5000/app/blobs/sha256:${hex}`)
    assert.equal(out.headers.authorization, `Basic ${Buffer.from('al@ice:p:ss').toString('base64')}`)
    assert.equal(out.headers['x-other'], '1')
    // an explicit -H Authorization wins; a URL without credentials is left alone
    assert.equal(credentialsToHeader('https://u:p@h/x', { Authorization: 'Bearer t' }).headers.Authorization, 'Bearer t')
    assert.deepEqual(credentialsToHeader('https://h/x', {}), { url: 'https://h/x', headers: {} })
  })
})
