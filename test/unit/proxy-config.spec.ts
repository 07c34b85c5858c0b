import assert from 'node:assert/strict'
import { containerdHostsToml, ProxyServer, DEFAULT_RULES } from '@damselfly/proxy'
import { silentLogger } from '@damselfly/utils'

describe('proxy configuration', () => {
  it('should write a hosts.toml sending docker.io through the proxy with Docker Hub as the fallback', () => {
    const { dir, toml } = containerdHostsToml({ registry: 'docker.io', proxy: 'http://127.0.0.1:65001/' })
    assert.equal(dir, 'docker.io')
    assert.match(toml, /^server = "https:\/\/registry-1\.docker\.io"$/m)
    assert.match(toml, /^\[host\."http:\/\/127\.0\.0\.1:65001"\]$/m)
    assert.match(toml, /capabilities = \["pull", "resolve"\]/)
    assert.match(toml, /X-Dragonfly-Registry = \["https:\/\/registry-1\.docker\.io"\]/)
  })

  it('should reach loopback and --plain-http registries over http', () => {
    assert.match(containerdHostsToml({ registry: '127.0.0.1:5000', proxy: 'http://127.0.0.1:65001' }).toml, /^server = "http:\/\/127\.0\.0\.1:5000"$/m)
    assert.match(containerdHostsToml({ registry: 'registry.lan:5000', proxy: 'http://p', plainHttp: true }).toml, /^server = "http:\/\/registry\.lan:5000"$/m)
    assert.equal(containerdHostsToml({ registry: 'https://ghcr.io', proxy: 'http://p' }).dir, 'ghcr.io')
  })

  it('should send registry blobs and model files through P2P by default, not pages or APIs', () => {
    const proxy = new ProxyServer({ engine: { download: async () => await Promise.reject(new Error('unused')) }, log: silentLogger() }, { rules: DEFAULT_RULES })
    const p2p = (u: string): boolean => proxy.matches(new URL(u))
    assert.equal(p2p(`https://registry-1.docker.io/v2/library/alpine/blobs/sha256:${'a'.repeat(64)}`), true)
    assert.equal(p2p('https://cdn.example/models/llama.gguf'), true)
    assert.equal(p2p('https://bucket.s3.example/weights/model-00001.safetensors?X-Amz-Signature=abc'), true, 'the query string does not hide the extension')
    assert.equal(p2p('https://example.com/index.html'), false)
    assert.equal(p2p('https://registry-1.docker.io/v2/library/alpine/manifests/latest'), false)
  })
})
