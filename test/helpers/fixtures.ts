import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOrigin, writeRandomFile, sha256File, type Origin, type OriginInit } from '@damselfly/testkit'
import { startLab, type Lab, type LabOptions } from '@damselfly/cli'

export interface LabFixtureInit {
  /** temp dir prefix */
  name: string
  /** random files the origin serves at `/<name>`, by size in bytes */
  files?: Record<string, number>
  /** origin options beside its files (rate cap, fault injection) */
  origin?: Omit<OriginInit, 'files'>
  /** no lab when omitted (an origin alone) */
  lab?: Omit<LabOptions, 'dataDir'>
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
 * 127.0.0.1 and a lab of separate processes, all stopped and removed after the suite.
 * Registers mocha `before`/`after` hooks in the calling `describe`.
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
    f.origin = await startOrigin({ ...init.origin, files })
    f.url = (name) => `${f.origin.url}/${name}`
    if (init.lab != null) f.lab = await startLab({ ...init.lab, dataDir: join(f.dir, 'lab') })
  })
  after(async function () {
    await f.lab?.stop()
    await f.origin?.stop()
    if (f.dir != null) await rm(f.dir, { recursive: true, force: true })
  })
  return f
}
