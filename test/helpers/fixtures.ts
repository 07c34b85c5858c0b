import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { startOrigin, writeRandomFile, sha256File, summedBy, type Origin, type OriginInit } from '@damselfly/testkit'
import { startLab, getVia, type Lab, type LabOptions, type GetResult } from '@damselfly/cli'
import { keepLogsOnFailure } from './faults.js'

type LabInit = Omit<LabOptions, 'dataDir'>

export interface LabFixtureInit {
  /** temp dir prefix */
  name: string
  /** random files the origin serves at `/<name>`, by size in bytes */
  files?: Record<string, number>
  /** more origin paths, each serving one of `files` under another name (`{ '/b.bin': 'a.bin' }`) */
  aliases?: Record<string, string>
  /** origin options beside its files (rate cap, fault injection); no origin when neither this nor `files` is given */
  origin?: Omit<OriginInit, 'files'>
  /**
   * no lab when omitted (an origin alone); a function when the options need what `before` set up
   * (the dir, the origin's URL, another server the spec started in an earlier `before`) or a
   * file written first (a config)
   */
  lab?: LabInit | ((f: LabFixture) => LabInit | Promise<LabInit>)
}

/** What a suite's `before` set up; read it inside tests, not at describe time. */
export interface LabFixture {
  dir: string
  origin: Origin
  lab: Lab
  /** sha256 of each served file, by name */
  sha: Record<string, string>
  /** the origin URL of a served file */
  url: (name: string) => string
}

/**
 * The block every multi-process suite starts with: a temp dir, random files, a real origin on
 * 127.0.0.1 and a lab of separate processes, all stopped and removed after the suite; a failed
 * test's lab logs are kept. Registers mocha `before`/`afterEach`/`after` hooks in the calling
 * `describe`: a spec's own `before` registered ahead of it runs first, one registered after it
 * runs once the lab is up.
 */
export function withLab (init: LabFixtureInit): LabFixture {
  const f = { sha: {} as Record<string, string> } as LabFixture
  before(async function () {
    f.dir = await mkdtemp(join(tmpdir(), `dfly-${init.name}-`))
    const files: Record<string, string> = {}
    for (const [name, size] of Object.entries(init.files ?? {})) {
      const path = join(f.dir, name)
      await writeRandomFile(path, size)
      f.sha[name] = await sha256File(path)
      files[`/${name}`] = path
    }
    for (const [path, name] of Object.entries(init.aliases ?? {})) files[path] = join(f.dir, name)
    if (init.files != null || init.origin != null) {
      f.origin = await startOrigin({ ...init.origin, files })
      f.url = (name) => `${f.origin.url}/${name}`
    }
    if (init.lab != null) {
      const opts = typeof init.lab === 'function' ? await init.lab(f) : init.lab
      f.lab = await startLab({ ...opts, dataDir: join(f.dir, 'lab') })
    }
  })
  afterEach(async function () { await keepLogsOnFailure(this, f.lab?.endpoints?.logs) })
  after(async function () {
    await f.lab?.stop()
    await f.origin?.stop()
    if (f.dir != null) await rm(f.dir, { recursive: true, force: true })
  })
  return f
}

/** Every peer of the lab downloads the served file `name` through its daemon: each must succeed with exactly its bytes. */
export async function everyPeerGets (f: LabFixture, name: string, args: string[] = []): Promise<GetResult[]> {
  const eps = f.lab.endpoints!
  const out = (i: number): string => join(f.dir, `${name}.peer-${i}`)
  const results = await Promise.all(eps.peers.map(async (p, i) => await getVia(p, f.url(name), out(i), args)))
  for (const r of results) assert.equal(r.ok, true, JSON.stringify(r))
  for (let i = 0; i < eps.peers.length; i++) assert.equal(await sha256File(out(i)), f.sha[name], `peer ${i} output differs`)
  return results
}

/** Bytes every peer and seed of the lab uploaded, summed, by what carried them (`libp2p`, `tcp`, `tls`). */
export async function uploadedByTransport (lab: Lab): Promise<(transport: string) => number> {
  const eps = lab.endpoints!
  return await summedBy([...eps.peers, ...eps.seeds].map((p) => p.metrics), 'damselfly_upload_transport_bytes_total', 'transport')
}
