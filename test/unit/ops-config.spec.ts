import assert from 'node:assert/strict'
import { resolveConfig, parseConfigText, maskSecrets, parseBytes, ConfigError, type DaemonConfig, type SchedulerConfig } from '@damselfly/config'

describe('configuration', () => {
  it('should apply defaults per role when nothing is given', () => {
    const peer = resolveConfig<DaemonConfig>('peer', {}).config
    assert.equal(peer.apiPort, 65002)
    assert.equal(peer.pool, 'default')
    const seed = resolveConfig<DaemonConfig>('seed', {}).config
    assert.equal(seed.apiPort, 65012)
    assert.equal(seed.pool, 'cloud')
    const sched = resolveConfig<SchedulerConfig>('scheduler', {}).config
    assert.equal(sched.port, 8002)
    assert.equal(sched.p2pPort, 8003)
    assert.equal(sched.heartbeatSeconds, 10)
    assert.equal(resolveConfig<SchedulerConfig>('scheduler', { env: { DAMSELFLY_SCHEDULER_HEARTBEAT_SECONDS: '2.5' } }).config.heartbeatSeconds, 2.5)
  })

  it('should take flags over env over file over defaults', () => {
    const file = parseConfigText('pool: from-file\nidc: file-idc\napiPort: 1111\nmetricsPort: 2222\ngc:\n  quota: 1GiB\n  ttlSeconds: 60\n', 'peer.yaml')
    const env = { DAMSELFLY_POOL: 'from-env', DAMSELFLY_API_PORT: '3333', DAMSELFLY_GC_TTL_SECONDS: '120' }
    const { config, sources } = resolveConfig<DaemonConfig>('peer', { file, env, flags: { pool: 'from-flag' } })
    assert.equal(config.pool, 'from-flag')
    assert.equal(config.apiPort, 3333)
    assert.equal(config.metricsPort, 2222)
    assert.equal(config.idc, 'file-idc')
    assert.equal(config.p2pPort, 65000)
    assert.equal(config.gc.quota, '1GiB')
    assert.equal(config.gc.ttlSeconds, 120)
    assert.equal(config.gc.highWatermark, 0.9)
    assert.equal(sources.pool, 'flag')
    assert.equal(sources.apiPort, 'env:DAMSELFLY_API_PORT')
    assert.equal(sources.metricsPort, 'file')
  })

  it('should reject bad values naming the setting and where it came from', () => {
    assert.throws(() => resolveConfig('peer', { env: { DAMSELFLY_API_PORT: 'abc' } }), (err: any) => {
      assert.ok(err instanceof ConfigError)
      assert.equal(err.code, 'ERR_CONFIG')
      assert.match(err.message, /apiPort/)
      assert.match(err.message, /DAMSELFLY_API_PORT/)
      return true
    })
    assert.throws(() => resolveConfig('peer', { file: { apiPort: 70000 }, filePath: '/etc/damselfly/peer.yaml' }), /apiPort.*peer\.yaml/s)
    assert.throws(() => resolveConfig('scheduler', { file: { prot: 1 }, filePath: 's.yaml' }), /prot/)
    assert.throws(() => resolveConfig('peer', { file: { scheduler: ['not a url'] } }), /scheduler/)
    assert.throws(() => resolveConfig('peer', { file: { gc: { highWatermark: 0.5, lowWatermark: 0.8 } } }), /lowWatermark/)
    // a heartbeat every millisecond would be a busy loop on every peer; a day would be no liveness at all
    assert.throws(() => resolveConfig('scheduler', { file: { heartbeatSeconds: 0.001 } }), /heartbeatSeconds/)
    assert.throws(() => resolveConfig('scheduler', { file: { heartbeatSeconds: 86_400 } }), /heartbeatSeconds/)
    assert.throws(() => parseConfigText('- a\n- b\n', 'x.yaml'), /mapping/)
    assert.throws(() => parseConfigText('a: [1,', 'x.yaml'), /not valid YAML/)
  })

  it('should mask secrets and leave everything else readable', () => {
    const masked = maskSecrets({ token: 'sekrit', pool: 'a', backends: { s3: { secretAccessKey: 'k', region: 'r' } }, password: '' })
    assert.deepEqual(masked, { token: '********', pool: 'a', backends: { s3: { secretAccessKey: '********', region: 'r' } }, password: '' })
  })

  it('should parse human sizes into bytes', () => {
    assert.equal(parseBytes('512MiB'), 512 * 1024 ** 2)
    assert.equal(parseBytes('20GB'), 20 * 1024 ** 3)
    assert.equal(parseBytes(1234), 1234)
    assert.throws(() => parseBytes('lots'))
  })
})
