import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, readdir, mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import type { AddressInfo } from 'node:net'
import { existsSync } from 'node:fs'
import { join, dirname, basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, parseAllDocuments } from 'yaml'
import { resolveConfig, type Role } from '@damselfly/config'
import { program, NODE_FLAGS, CLI } from '@damselfly/cli'
import { schedulerPeerId } from '@damselfly/scheduler'
import { containerdHostsToml } from '@damselfly/proxy'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const K8S = join(ROOT, 'deploy', 'kubernetes')
const IMAGE = /(^|\/)damselfly(:|$)/

type Obj = Record<string, any>

async function manifests (): Promise<Obj[]> {
  const out: Obj[] = []
  for (const f of (await readdir(K8S)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()) {
    for (const doc of parseAllDocuments(await readFile(join(K8S, f), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${f}: ${doc.errors.join('; ')}`)
      if (doc.contents != null) out.push(doc.toJS())
    }
  }
  return out
}

const find = (all: Obj[], kind: string, name: string): Obj => {
  const o = all.find((m) => m.kind === kind && m.metadata?.name === name)
  assert.ok(o != null, `no ${kind} ${name}`)
  return o
}

const ports = (c: Obj): number[] => (c.ports ?? []).map((p: Obj) => p.containerPort)

/** A probe's port may be a number or the name of one of the container's ports. */
function probePort (c: Obj, probe: Obj): number {
  const p = probe.httpGet.port
  return typeof p === 'number' ? p : c.ports.find((x: Obj) => x.name === p)?.containerPort
}

function checkWorkload (w: Obj, role: string, wantPorts: number[], ready: number, live: number): Obj {
  const t = w.spec.template
  assert.deepEqual(w.spec.selector.matchLabels, { 'app.kubernetes.io/name': w.metadata.name }, `${w.metadata.name} selector`)
  assert.equal(t.metadata.labels['app.kubernetes.io/name'], w.metadata.name, `${w.metadata.name} template labels do not match its selector`)
  assert.equal(t.metadata.labels['app.kubernetes.io/part-of'], 'damselfly')
  const c = t.spec.containers[0]
  assert.match(c.image, IMAGE)
  assert.equal(c.args[0], role)
  for (const p of wantPorts) assert.ok(ports(c).includes(p), `${w.metadata.name} lacks port ${p}`)
  assert.equal(c.readinessProbe.httpGet.path, '/readyz')
  assert.equal(probePort(c, c.readinessProbe), ready)
  assert.equal(c.livenessProbe.httpGet.path, '/healthz')
  assert.equal(probePort(c, c.livenessProbe), live)
  return c
}

/**
 * The Kubernetes OpenAPI schema of an object's kind, as shipped (ajv-compiled) by the npm package
 * kubernetes-models: `kubernetes-models/<apiVersion>/<Kind>`, e.g. apps/v1/DaemonSet, v1/ConfigMap.
 */
async function schemaModel (m: Obj): Promise<new (data: Obj) => { validate: () => void }> {
  const mod = await import(`kubernetes-models/${m.apiVersion as string}/${m.kind as string}`).catch(() => null)
  assert.ok(mod?.[m.kind] != null, `kubernetes-models has no schema for ${m.apiVersion as string} ${m.kind as string} (${m.metadata?.name as string})`)
  return mod[m.kind]
}


/** An env entry's source: `secret|configMap name/key`, and whether the pod may start without it. */
function envFrom (c: Obj, name: string): { ref: string, optional: boolean } | undefined {
  const v = (c.env ?? []).find((e: Obj) => e.name === name)?.valueFrom
  const kind = v?.secretKeyRef != null ? 'secret' : v?.configMapKeyRef != null ? 'configMap' : undefined
  if (kind == null) return undefined
  const r = v.secretKeyRef ?? v.configMapKeyRef
  return { ref: `${kind} ${r.name as string}/${r.key as string}`, optional: r.optional === true }
}

/** Runs `damselfly <role> --config <file>` with every port free and its own data dir, until it exits. */
async function runRole (role: string, config: string, env: Record<string, string>): Promise<{ code: number | string, stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'dfly-role-'))
  try {
    await writeFile(join(dir, 'config.yaml'), config)
    const ports = Object.fromEntries(['API', 'METRICS', 'P2P', 'DATA', 'PROXY'].map((p) => [`DAMSELFLY_${p}_PORT`, '0']))
    return await new Promise((resolve) => {
      execFile(process.execPath, [CLI, role, '--config', join(dir, 'config.yaml')], {
        timeout: 30_000,
        env: { PATH: process.env.PATH ?? '', HOME: dir, DAMSELFLY_DATA_DIR: join(dir, 'data'), ...ports, ...env }
      }, (err: any, _out, stderr) => { resolve({ code: err == null ? 0 : err.code, stderr }) })
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

describe('Kubernetes manifests', () => {
  it('should validate every object against the Kubernetes OpenAPI schemas (kubernetes-models)', async () => {
    const all = await manifests()
    assert.ok(all.length >= 10, `only ${all.length} objects`)
    for (const m of all) {
      const Model = await schemaModel(m)
      assert.doesNotThrow(() => { new Model(m).validate() }, (err: Error) => {
        assert.fail(`${m.kind as string} ${m.metadata?.name as string}: ${err.message}`)
      })
    }
    // every workload runs as the image's non-root user; only node-setup init containers are root
    for (const w of all.filter((m) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(m.kind))) {
      const pod = w.spec.template.spec
      assert.deepEqual([pod.securityContext?.runAsNonRoot, pod.securityContext?.runAsUser], [true, 1000], `${w.metadata.name as string} pod runs as root`)
      for (const c of pod.containers) assert.equal(c.securityContext?.runAsUser ?? 1000, 1000, `${w.metadata.name as string}/${c.name as string} runs as root`)
      const root = (pod.initContainers ?? []).filter((c: Obj) => c.securityContext?.runAsUser === 0).map((c: Obj) => c.name)
      assert.ok(root.every((n: string) => ['data-dir', 'containerd-mirror'].includes(n)), `root init containers: ${root.join(', ')}`)
    }
    // the schemas are real: a wrong type, a missing required field and a bad enum value are caught
    const ds = structuredClone(find(all, 'DaemonSet', 'damselfly-peer'))
    const Model = await schemaModel(ds)
    const broken: Array<(o: Obj) => void> = [
      (o) => { o.spec.template.spec.containers[0].ports[0].containerPort = '65001' },
      (o) => { delete o.spec.selector },
      (o) => { o.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes' }
    ]
    for (const breakIt of broken) {
      const o = structuredClone(ds)
      breakIt(o)
      assert.throws(() => { new Model(o).validate() }, `not caught: ${breakIt.toString()}`)
    }
  })

  it('should define the scheduler Deployment and Service on 8002/8003 with probes', async () => {
    const all = await manifests()
    const d = find(all, 'Deployment', 'damselfly-scheduler')
    checkWorkload(d, 'scheduler', [8002, 8003], 8002, 8002)
    const svc = find(all, 'Service', 'damselfly-scheduler')
    assert.deepEqual(svc.spec.ports.map((p: Obj) => p.port).sort(), [8002, 8003])
    assert.deepEqual(svc.spec.selector, d.spec.selector.matchLabels)
  })

  it('should run seed peers as a StatefulSet with a volume per seed', async () => {
    const all = await manifests()
    const s = find(all, 'StatefulSet', 'damselfly-seed-peer')
    const c = checkWorkload(s, 'seed', [65000, 65003, 65004], 65003, 65003)
    // the local API is on the pod's loopback: not a port anyone else is offered
    assert.ok(!ports(c).includes(65002))
    assert.ok(!find(all, 'Service', 'damselfly-seed-peer').spec.ports.some((p: Obj) => p.port === 65002))
    assert.equal(s.spec.serviceName, 'damselfly-seed-peer')
    assert.equal(find(all, 'Service', 'damselfly-seed-peer').spec.clusterIP, 'None')
    assert.ok(c.volumeMounts.some((m: Obj) => m.name === s.spec.volumeClaimTemplates[0].metadata.name))
  })

  it('should run peers as a DaemonSet exposing only p2p, data and metrics, taking the pool from the node label', async () => {
    const all = await manifests()
    const ds = find(all, 'DaemonSet', 'damselfly-peer')
    const c = checkWorkload(ds, 'daemon', [65000, 65003, 65004], 65003, 65003)
    // hostNetwork: the proxy and the local API stay on the node's loopback, p2p and metrics on its IP
    assert.ok(!ports(c).includes(65001) && !ports(c).includes(65002))
    const config = parse(find(all, 'ConfigMap', 'damselfly-config').data['peer.yaml'])
    assert.equal(config.proxyHost, '127.0.0.1')
    assert.equal(config.apiHost, '127.0.0.1')
    assert.equal(config.host, undefined)
    for (const name of ['DAMSELFLY_P2P_HOST', 'DAMSELFLY_METRICS_HOST']) {
      assert.equal(c.env.find((e: Obj) => e.name === name)?.valueFrom?.fieldRef?.fieldPath, 'status.podIP', name)
    }
    const spec = ds.spec.template.spec
    const init = spec.initContainers as Obj[]
    const pool = init.find((i) => JSON.stringify(i).includes('apps.openyurt.io/nodepool'))
    assert.ok(pool != null, 'no init container reads the nodepool label')
    assert.ok(pool.env.some((e: Obj) => e.name === 'NODE_NAME' && e.valueFrom.fieldRef.fieldPath === 'spec.nodeName'))
    // it writes the config file the peer starts with
    const written = pool.volumeMounts.find((m: Obj) => m.mountPath === '/run/damselfly')
    assert.ok(written != null && c.args.includes('/run/damselfly/peer.yaml'))
    assert.ok(c.volumeMounts.some((m: Obj) => m.name === written.name))
    // and may read nodes, nothing else
    assert.equal(spec.serviceAccountName, 'damselfly-peer')
    const binding = find(all, 'ClusterRoleBinding', 'damselfly-peer-read-node')
    assert.deepEqual(binding.subjects[0], { kind: 'ServiceAccount', name: 'damselfly-peer', namespace: 'damselfly' })
    assert.deepEqual(find(all, 'ClusterRole', binding.roleRef.name).rules, [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }])
  })

  it('should write the node\'s pool label into the peer config from the node-pool init container', async function () {
    this.timeout(30_000)
    const all = await manifests()
    const cm = find(all, 'ConfigMap', 'damselfly-config')
    const init = (find(all, 'DaemonSet', 'damselfly-peer').spec.template.spec.initContainers as Obj[]).find((i) => i.name === 'node-pool')!
    const dir = await mkdtemp(join(tmpdir(), 'dfly-nodepool-'))
    const paths = { sa: join(dir, 'sa'), base: join(dir, 'base'), out: join(dir, 'out') }
    for (const p of Object.values(paths)) await mkdir(p)
    await writeFile(join(paths.sa, 'token'), 'sa-token\n')
    await writeFile(join(paths.base, 'peer.yaml'), cm.data['peer.yaml'])
    // the script as shipped, with the pod's paths moved under a temp dir and the API server on loopback HTTP
    const script = (init.args[0] as string)
      .replaceAll('/var/run/secrets/kubernetes.io/serviceaccount', paths.sa)
      .replaceAll('/etc/damselfly-base', paths.base)
      .replaceAll('/run/damselfly', paths.out)
      .replace('https://', 'http://')
    assert.ok(!script.includes('/var/run/secrets') && !script.includes('https://'), 'the script moved paths')
    const seen: Array<{ url?: string, auth?: string }> = []
    const nodes: Record<string, Obj> = {
      'node-7': { metadata: { labels: { 'apps.openyurt.io/nodepool': 'edge-x', 'topology.kubernetes.io/zone': 'z9' } } },
      'node-8': { metadata: { labels: {} } }
    }
    const api = createServer((req, res) => {
      seen.push({ url: req.url, auth: req.headers.authorization })
      const node = nodes[(req.url ?? '').replace('/api/v1/nodes/', '')]
      if (node == null) { res.writeHead(404).end(); return }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(node))
    })
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
    const runFor = async (node: string): Promise<number> => await new Promise((resolve) => {
      execFile(process.execPath, [...init.command.slice(1), script], {
        env: { ...process.env, NODE_NAME: node, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String((api.address() as AddressInfo).port) }
      }, (err: any) => { resolve(err == null ? 0 : err.code) })
    })
    try {
      assert.equal(await runFor('node-7'), 0)
      assert.deepEqual(seen[0], { url: '/api/v1/nodes/node-7', auth: 'Bearer sa-token' })
      const c = resolveConfig<any>('peer', { file: parse(await readFile(join(paths.out, 'peer.yaml'), 'utf8')) }).config
      assert.equal(c.pool, 'edge-x')
      assert.equal(c.idc, 'z9')
      assert.deepEqual(c.scheduler, ['http://damselfly-scheduler.damselfly.svc:8002'])
      assert.equal(await runFor('node-8'), 0)
      assert.equal(resolveConfig<any>('peer', { file: parse(await readFile(join(paths.out, 'peer.yaml'), 'utf8')) }).config.pool, 'default')
      // a node the API server does not know fails the pod's start instead of running with a wrong pool
      assert.notEqual(await runFor('node-404'), 0)
    } finally {
      api.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('should set up containerd hosts.toml on each node pointing at the local proxy', async () => {
    const all = await manifests()
    const spec = find(all, 'DaemonSet', 'damselfly-peer').spec.template.spec
    const mirror = (spec.initContainers as Obj[]).find((i) => i.volumeMounts?.some((m: Obj) => m.mountPath === '/etc/containerd/certs.d'))
    assert.ok(mirror != null, 'no init container writes /etc/containerd/certs.d')
    const vol = spec.volumes.find((v: Obj) => v.name === mirror.volumeMounts[0].name)
    assert.equal(vol.hostPath.path, '/etc/containerd/certs.d')
    const script = mirror.args.join('\n')
    assert.match(script, /damselfly\.js dfinit/)
    assert.match(script, /--proxy http:\/\/127\.0\.0\.1:65001/)
    assert.match(script, /--certs-dir \/etc\/containerd\/certs\.d/)
    assert.match(mirror.image, IMAGE)
    assert.equal(spec.hostNetwork, true)

    // run it for real from the repo root (the image's workdir), certs.d moved under a temp dir
    const dir = await mkdtemp(join(tmpdir(), 'dfly-certs-'))
    try {
      const registries = find(all, 'ConfigMap', 'damselfly-config').data['mirror-registries'] as string
      const r = await new Promise<{ code: number, stderr: string }>((resolve) => {
        execFile(mirror.command[0], [...mirror.command.slice(1), script.replaceAll('/etc/containerd/certs.d', dir)], {
          cwd: ROOT,
          // `node` inside the script must be the pinned Node 22, as in the image
          env: { ...process.env, MIRROR_REGISTRIES: registries, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` }
        }, (err: any, _out, stderr) => { resolve({ code: err == null ? 0 : err.code, stderr }) })
      })
      assert.equal(r.code, 0, r.stderr)
      const written = (await readdir(dir)).sort()
      assert.deepEqual(written, registries.split(' ').sort())
      const hub = await readFile(join(dir, 'docker.io', 'hosts.toml'), 'utf8')
      assert.match(hub, /^server = "https:\/\/registry-1\.docker\.io"$/m)
      assert.match(hub, /^\[host\."http:\/\/127\.0\.0\.1:65001"\]$/m)
      assert.match(hub, /capabilities = \["pull", "resolve"\]/)
      assert.match(await readFile(join(dir, 'ghcr.io', 'hosts.toml'), 'utf8'), /^server = "https:\/\/ghcr\.io"$/m)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('should pin the scheduler\'s identity, never run in dev mode, and take every token from a required Secret', async function () {
    this.timeout(60_000)
    const all = await manifests()
    const cm = find(all, 'ConfigMap', 'damselfly-config')
    const scheduler = find(all, 'Deployment', 'damselfly-scheduler').spec.template.spec
    const seed = find(all, 'StatefulSet', 'damselfly-seed-peer').spec.template.spec.containers[0]
    const peer = find(all, 'DaemonSet', 'damselfly-peer').spec.template.spec.containers[0]
    const tokens = (k: string): Obj => ({ ref: `secret damselfly-tokens/${k}`, optional: false })
    const pin = { ref: 'configMap damselfly-scheduler-id/peer-id', optional: false }
    const c = scheduler.containers[0]
    assert.deepEqual(['DAMSELFLY_TOKEN', 'DAMSELFLY_SEED_TOKEN', 'DAMSELFLY_ADMIN_TOKEN'].map((n) => envFrom(c, n)), [tokens('token'), tokens('seed-token'), tokens('admin-token')])
    assert.deepEqual(['DAMSELFLY_TOKEN', 'DAMSELFLY_SEED_TOKEN', 'DAMSELFLY_SCHEDULER_PEER_ID'].map((n) => envFrom(seed, n)), [tokens('token'), tokens('seed-token'), pin])
    assert.deepEqual(['DAMSELFLY_TOKEN', 'DAMSELFLY_SCHEDULER_PEER_ID'].map((n) => envFrom(peer, n)), [tokens('token'), pin])
    assert.equal(envFrom(peer, 'DAMSELFLY_SEED_TOKEN'), undefined, 'peers must not hold the seed token')
    for (const w of [c, seed, peer]) assert.ok(!(w.env as Obj[]).some((e) => e.name === 'DAMSELFLY_DEV'), `${w.name as string} runs in dev mode`)
    for (const role of ['scheduler', 'seed', 'peer']) assert.equal(parse(cm.data[`${role}.yaml`]).dev, undefined, `${role}.yaml sets dev`)

    // the scheduler reads its key from the Secret, mounted where scheduler.yaml's keyFile points
    const keyFile = parse(cm.data['scheduler.yaml']).keyFile as string
    const mount = c.volumeMounts.find((m: Obj) => m.mountPath === dirname(keyFile))
    const vol = scheduler.volumes.find((v: Obj) => v.name === mount?.name)
    assert.equal(vol?.secret?.secretName, 'damselfly-scheduler-key')
    assert.deepEqual(vol.secret.items, [{ key: 'scheduler.key', path: basename(keyFile) }])
    assert.notEqual(vol.secret.optional, true)
    assert.equal(scheduler.securityContext.fsGroup, 1000, 'uid 1000 cannot read the key')

    // the Secrets and the pin are generated from files the operator makes and never commits
    const kz = parse(await readFile(join(K8S, 'kustomization.yaml'), 'utf8'))
    const gen = (list: Obj[] | undefined, name: string): Obj => list?.find((g) => g.name === name) ?? assert.fail(`no generator ${name}`)
    assert.deepEqual(gen(kz.secretGenerator, 'damselfly-scheduler-key').files, ['scheduler.key'])
    assert.deepEqual(gen(kz.secretGenerator, 'damselfly-tokens').envs, ['secrets.env'])
    assert.deepEqual(gen(kz.configMapGenerator, 'damselfly-scheduler-id').envs, ['scheduler-id.env'])
    const ignored = (await readFile(join(K8S, '.gitignore'), 'utf8')).split('\n')
    for (const f of ['scheduler.key', 'secrets.env', 'scheduler-id.env']) assert.ok(ignored.includes(f), `.gitignore lacks ${f}`)

    // one scheduler URL each, so the id from the environment pins it; tokens come from the environment only
    const id = '12D3KooWHLDx1a4rU1JgcGvBn2AmtiijZVoiggxLEcpT9AufpEyA'
    const env = { DAMSELFLY_SCHEDULER_PEER_ID: id, DAMSELFLY_TOKEN: 'cluster-token-0123456789', DAMSELFLY_SEED_TOKEN: 'seed-token-0123456789' }
    for (const role of ['seed', 'peer'] as Role[]) {
      const cfg = resolveConfig<any>(role, { file: parse(cm.data[`${role}.yaml`]), env }).config
      assert.equal(cfg.scheduler.length, 1)
      assert.equal(cfg.schedulerPeerId, id)
      assert.equal(cfg.dev, false)
      assert.equal(cfg.token, env.DAMSELFLY_TOKEN)
      assert.equal(parse(cm.data[`${role}.yaml`]).token, undefined, `${role}.yaml holds a token`)
    }
    const seedCfg = parse(cm.data['seed.yaml'])
    assert.deepEqual([seedCfg.originAllowPrivate, seedCfg.originCredentialsAllow], [[], []])
    // every registry containerd sends to the proxy is one it may talk to, and nothing private
    const peerCfg = parse(cm.data['peer.yaml'])
    assert.deepEqual(peerCfg.proxyAllow, [])
    const servers = (cm.data['mirror-registries'] as string).split(' ').map((r) => new URL(/^server = "(.*)"$/m.exec(containerdHostsToml({ registry: r, proxy: 'http://127.0.0.1:65001' }).toml)![1]).host)
    assert.deepEqual([...peerCfg.allowRegistry].sort(), servers.sort())

    // as shipped, without the pin: the daemons refuse to start, saying how to pin
    for (const [role, file] of [['daemon', 'peer.yaml'], ['seed', 'seed.yaml']]) {
      const r = await runRole(role, cm.data[file], { DAMSELFLY_TOKEN: env.DAMSELFLY_TOKEN, DAMSELFLY_SEED_TOKEN: env.DAMSELFLY_SEED_TOKEN })
      assert.equal(r.code, 2, `${role}: ${r.stderr}`)
      assert.match(r.stderr, /is not pinned: .*--scheduler http:\/\/damselfly-scheduler\.damselfly\.svc:8002\/p2p\/<peer id>/)
    }
  })

  it('should render with kubectl kustomize only once the operator made the key, the pin and the tokens, every reference resolved', async function () {
    this.timeout(60_000)
    const kustomize = async (dir: string): Promise<{ code: number | string, stdout: string, stderr: string }> => await new Promise((resolve) => {
      execFile('kubectl', ['kustomize', dir], { maxBuffer: 16 << 20 }, (err: any, stdout, stderr) => { resolve({ code: err == null ? 0 : err.code, stdout, stderr }) })
    })
    if ((await kustomize('--help')).code === 'ENOENT') { console.log('      kubectl is not installed: skipped'); this.skip() }
    const dir = await mkdtemp(join(tmpdir(), 'dfly-kustomize-'))
    try {
      for (const f of await readdir(K8S)) await writeFile(join(dir, f), await readFile(join(K8S, f)))
      // as committed: the generators' files are missing, so nothing renders (nothing unpinned or tokenless is applied)
      const bare = await kustomize(dir)
      assert.notEqual(bare.code, 0)
      assert.match(bare.stderr, /no such file or directory/)
      // README "Kubernetes": the key and its id, then the tokens
      const id = await schedulerPeerId(join(dir, 'scheduler.key'))
      await writeFile(join(dir, 'scheduler-id.env'), `peer-id=${id}\n`)
      await writeFile(join(dir, 'secrets.env'), 'token=cluster-token-0123456789\nseed-token=seed-token-0123456789\nadmin-token=admin-token-0123456789\n')
      const r = await kustomize(dir)
      assert.equal(r.code, 0, r.stderr)
      const all = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj)
      const generated = (prefix: string, kind: string): Obj => all.find((m) => m.kind === kind && (m.metadata.name as string).startsWith(`${prefix}-`)) ?? assert.fail(`no generated ${kind} ${prefix}`)
      const idMap = generated('damselfly-scheduler-id', 'ConfigMap')
      assert.equal(idMap.data['peer-id'], id)
      const keySecret = generated('damselfly-scheduler-key', 'Secret')
      assert.deepEqual(Buffer.from(keySecret.data['scheduler.key'], 'base64'), await readFile(join(dir, 'scheduler.key')))
      const tokens = generated('damselfly-tokens', 'Secret')
      assert.deepEqual(Object.keys(tokens.data).sort(), ['admin-token', 'seed-token', 'token'])
      // every reference names a generated object (kustomize rewrote the hashed names)
      const names = new Set(all.map((m) => `${m.kind as string} ${m.metadata.name as string}`))
      for (const w of all.filter((m) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(m.kind))) {
        const pod = w.spec.template.spec
        for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
          for (const e of c.env ?? []) {
            const v = e.valueFrom ?? {}
            if (v.secretKeyRef != null) assert.ok(names.has(`Secret ${v.secretKeyRef.name as string}`), `${w.metadata.name as string}: ${e.name as string} names no Secret`)
            if (v.configMapKeyRef != null) assert.ok(names.has(`ConfigMap ${v.configMapKeyRef.name as string}`), `${w.metadata.name as string}: ${e.name as string} names no ConfigMap`)
          }
        }
        for (const v of pod.volumes ?? []) if (v.secret != null) assert.ok(names.has(`Secret ${v.secret.secretName as string}`))
      }
      for (const m of [idMap, keySecret, tokens]) {
        // kustomize folds long base64 lines, which the API server's decoder skips and the schema's
        // "byte" format does not
        const o = m.kind === 'Secret' ? { ...m, data: Object.fromEntries(Object.entries(m.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s/g, '')])) } : m
        const Model = await schemaModel(o)
        new Model(o).validate()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('should ship role configs that pass the daemons\' own validation', async () => {
    const all = await manifests()
    const cm = find(all, 'ConfigMap', 'damselfly-config')
    for (const role of ['scheduler', 'seed', 'peer'] as Role[]) {
      const file = parse(cm.data[`${role}.yaml`])
      assert.doesNotThrow(() => resolveConfig(role, { file, filePath: `${role}.yaml` }), `${role}.yaml is invalid`)
    }
    assert.equal(parse(cm.data['peer.yaml']).pool, undefined, 'the pool must come from the node label, not the ConfigMap')
    // the init container appends the pool line: the result must still be valid
    assert.equal(resolveConfig<any>('peer', { file: parse(cm.data['peer.yaml'] + '\npool: "edge-x"\n') }).config.pool, 'edge-x')
  })
})

describe('docker-compose.yml', () => {
  const file = join(ROOT, 'docker-compose.yml')

  it('should have the lab\'s roles: origin, hub, scheduler, seed and peers labelled with two pools', async () => {
    const doc = parse(await readFile(file, 'utf8'), { merge: true })
    const s = doc.services as Record<string, Obj>
    // registry:2 unless deploy/compose/local-images.sh's Debian stand-in is named
    assert.equal(s.origin.image, '${DAMSELFLY_REGISTRY_IMAGE:-registry:2}')
    const role = (name: string): string => s[name].labels?.['io.damselfly.role']
    const byRole = (r: string): string[] => Object.keys(s).filter((n) => role(n) === r)
    assert.deepEqual(byRole('scheduler'), ['scheduler'])
    assert.deepEqual(byRole('seed'), ['seed'])
    assert.deepEqual(byRole('hub'), ['hub'])
    const peers = byRole('peer')
    assert.ok(peers.length >= 4)
    const pools = new Set(peers.map((n) => s[n].labels['io.damselfly.pool']))
    assert.deepEqual([...pools].sort(), ['edge-a', 'edge-b'])
    // the label is what the peer runs with, not decoration
    for (const n of peers) assert.equal(s[n].environment.DAMSELFLY_POOL, s[n].labels['io.damselfly.pool'])
    assert.equal(s.seed.labels['io.damselfly.pool'], 'cloud')

    // each damselfly service runs a real subcommand of the CLI, like the lab's processes
    const subcommands = program().commands.map((c) => c.name())
    const expect: Record<string, string> = { scheduler: 'scheduler', seed: 'seed', peer: 'daemon' }
    for (const [n, svc] of Object.entries(s)) {
      const r = role(n)
      if (expect[r] == null) continue
      assert.ok(subcommands.includes(svc.command[0]), `${n} runs unknown subcommand ${svc.command[0]}`)
      assert.equal(svc.command[0], expect[r])
      assert.equal(svc.build.context, '.')
      assert.equal(svc.build.args.BASE_IMAGE, '${DAMSELFLY_BASE_IMAGE:-node:22-bookworm-slim}')
      // the mounted config validates for that role
      const mount = (svc.volumes as string[]).find((v) => v.includes('/etc/damselfly/'))!
      const host = mount.split(':')[0]
      const cfg = parse(await readFile(join(ROOT, host), 'utf8'))
      assert.doesNotThrow(() => resolveConfig(r === 'peer' ? 'peer' : r as Role, { file: cfg, filePath: host }))
      assert.ok(svc.command.includes(mount.split(':')[1]), `${n} does not use its mounted config`)
    }
    // the hub is the testkit origin, shipped in the image
    assert.ok(existsSync(join(ROOT, 'packages/testkit/dist/src/serve-dir.js')))
    assert.equal(s.hub.entrypoint[1], 'packages/testkit/dist/src/serve-dir.js')
  })

  it('should publish only the dashboard and one proxy, on 127.0.0.1, and set the cluster and seed tokens', async () => {
    const doc = parse(await readFile(file, 'utf8'), { merge: true })
    const published = Object.entries(doc.services as Record<string, Obj>).flatMap(([n, svc]) => (svc.ports ?? []).map((p: string) => `${n} ${p}`))
    assert.deepEqual(published.sort(), ['peer-a1 127.0.0.1:65001:65001', 'scheduler 127.0.0.1:8002:8002'])
    const cfg = async (role: string): Promise<Obj> => parse(await readFile(join(ROOT, 'deploy', 'compose', `${role}.yaml`), 'utf8'))
    const [scheduler, seed, peer] = [await cfg('scheduler'), await cfg('seed'), await cfg('peer')]
    assert.ok(typeof scheduler.token === 'string' && scheduler.token.length >= 16, 'scheduler.yaml has no cluster token')
    assert.ok(typeof scheduler.seedToken === 'string' && scheduler.seedToken !== scheduler.token, 'scheduler.yaml has no seed token of its own')
    assert.equal(peer.token, scheduler.token)
    assert.equal(seed.seedToken, scheduler.seedToken)
    assert.equal(peer.seedToken, undefined, 'peers must not hold the seed token')
    // the peers' proxy is the lab registry's mirror, what docker's registry-mirrors points at
    assert.equal(peer.registryMirror, 'http://origin:5000')
  })

  it('should pin the lab scheduler\'s key in the peers and the seed, never in dev mode, with the lab origins allowed to the seed only', async function () {
    this.timeout(30_000)
    const doc = parse(await readFile(file, 'utf8'), { merge: true })
    const s = doc.services as Record<string, Obj>
    const cfg = async (role: string): Promise<Obj> => parse(await readFile(join(ROOT, 'deploy', 'compose', `${role}.yaml`), 'utf8'))
    const [scheduler, seed, peer] = [await cfg('scheduler'), await cfg('seed'), await cfg('peer')]
    // the scheduler's key is the compose secret made from the lab key file, at scheduler.yaml's keyFile
    assert.deepEqual(s.scheduler.secrets, ['scheduler-key'])
    assert.equal(scheduler.keyFile, '/run/secrets/scheduler-key')
    const keyPath = join(ROOT, doc.secrets['scheduler-key'].file as string)
    assert.ok(existsSync(keyPath), `${keyPath as string} is missing`)
    const id = await schedulerPeerId(keyPath)
    for (const [name, c] of [['seed', seed], ['peer', peer]] as const) {
      assert.deepEqual(c.scheduler, [`http://scheduler:8002/p2p/${id}`], `${name}.yaml does not pin the lab key's peer id`)
    }
    for (const [name, c] of [['scheduler', scheduler], ['seed', seed], ['peer', peer]] as const) assert.equal(c.dev, undefined, `${name}.yaml sets dev`)
    for (const [n, svc] of Object.entries(s)) assert.equal(svc.environment?.DAMSELFLY_DEV, undefined, `${n} runs in dev mode`)
    assert.ok(typeof scheduler.adminToken === 'string' && scheduler.adminToken.length >= 16, 'no preheat token')
    assert.equal(seed.token, scheduler.token, 'a seed needs the cluster token too (private network)')
    // the seed may fetch from the two lab origins on the compose network, nothing else private, with no credentials of its own
    assert.deepEqual([...seed.originAllowPrivate].sort(), ['hub:8080', 'origin:5000'])
    assert.equal(seed.originCredentialsAllow, undefined)
    assert.equal(peer.originAllowPrivate, undefined)
    assert.equal(peer.proxyAllow, undefined, 'the configured registry mirror needs no proxyAllow')
    // `docker-compose exec <peer> damselfly get` finds the daemon's API token in its data dir
    for (const n of Object.keys(s).filter((n) => s[n].labels?.['io.damselfly.role'] === 'peer')) {
      assert.equal(s[n].environment.DAMSELFLY_DATA_DIR, peer.dataDir, `${n}: damselfly get would not find the API token`)
    }
  })

  it('should be accepted by docker-compose config', async function () {
    this.timeout(60_000)
    const r = await new Promise<{ code: number, stderr: string }>((resolve) => {
      execFile('docker-compose', ['-f', file, 'config', '-q'], { cwd: ROOT }, (err: any, _out, stderr) => {
        resolve({ code: err == null ? 0 : err.code, stderr })
      })
    })
    assert.notEqual(r.code, 'ENOENT', 'docker-compose is not installed: apt-get install -y docker-compose (see .ci/run)')
    assert.equal(r.code, 0, r.stderr)
  })

  it('should build the image in stages from ARG BASE_IMAGE (node:22 by default), non-root, running the damselfly CLI', async () => {
    const df = await readFile(join(ROOT, 'Dockerfile'), 'utf8')
    assert.match(df, /^ARG BASE_IMAGE=node:22-bookworm-slim$/m)
    assert.deepEqual(df.match(/^FROM .*$/gm), ['FROM ${BASE_IMAGE} AS build', 'FROM ${BASE_IMAGE}'])
    assert.match(df, /npm ci [^\n]*&& npm run build/)
    assert.match(df, /npm prune --omit=dev/)
    assert.match(df, /COPY --from=build \/app \/app/)
    assert.match(df, /^USER 1000:1000$/m)
    // the binary's path is named once (a layout move edits one line) and linked as `damselfly`
    const bin = /^ARG DAMSELFLY_BIN=(\S+)$/m.exec(df)
    assert.ok(bin != null, 'no ARG DAMSELFLY_BIN')
    assert.equal(df.split(bin[1]).length, 2, `${bin[1]} appears more than once`)
    assert.ok(existsSync(join(ROOT, bin[1])), `${bin[1]} is not built`)
    assert.match(df, /ln -s "\/app\/\$DAMSELFLY_BIN" \/usr\/local\/bin\/damselfly/)
    // the image runs every role with the same V8 flags as the bin's shebang and the lab
    const entry = JSON.parse(/ENTRYPOINT (\[.*\])/.exec(df)![1]) as string[]
    assert.deepEqual(entry, ['node', ...NODE_FLAGS, '/usr/local/bin/damselfly'])
    const shebang = (await readFile(join(ROOT, bin[1].replace(/dist\/src\/(.*)\.js$/, 'src/$1.ts')), 'utf8')).split('\n')[0]
    assert.equal(shebang, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`)
    // the build context leaves out what the image builds itself
    const ignore = (await readFile(join(ROOT, '.dockerignore'), 'utf8')).split('\n')
    for (const p of ['**/node_modules', '**/dist', '.git']) assert.ok(ignore.includes(p), `.dockerignore lacks ${p}`)
  })
})
