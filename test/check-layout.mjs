#!/usr/bin/env node
// The layout's rules, checked on source and package.json (see README, "Architecture"):
// libraries (packages/*) never import a role or the CLI; roles (scheduler/, peer/, seed-peer/)
// never import each other or the CLI; only the CLI reads argv/env and exits; tests never import bench.
// Prints one line per violation and exits 1 when there is any.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ROLES = ['@damselfly/scheduler', '@damselfly/peer', '@damselfly/seed-peer']
const APPS = [...ROLES, '@damselfly/cli', '@damselfly/bench']
/** process entry points outside the CLI that may read argv/env: a test origin run as its own process */
const ENTRY_POINTS = new Set(['packages/testkit/src/serve-dir.ts'])

const kinds = [
  ...readdirSync(join(ROOT, 'packages')).map((d) => ({ dir: `packages/${d}`, kind: 'library' })),
  { dir: 'proto', kind: 'library' },
  { dir: 'scheduler', kind: 'role' },
  { dir: 'peer', kind: 'role' },
  { dir: 'seed-peer', kind: 'role' },
  { dir: 'cli', kind: 'cli' },
  { dir: 'bench', kind: 'bench' },
  { dir: 'test', kind: 'test' }
]

function forbidden (kind, self) {
  switch (kind) {
    case 'library': return APPS
    case 'role': return APPS.filter((a) => a !== self)
    case 'test': return ['@damselfly/bench']
    default: return []
  }
}

function * sources (dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) yield * sources(p)
    else if (/\.(ts|mts|js|mjs|cjs)$/.test(name) && !name.endsWith('.d.ts')) yield p
  }
}

const problems = []
for (const { dir, kind } of kinds) {
  const pkgPath = join(ROOT, dir, 'package.json')
  let pkg
  try { pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) } catch { continue }
  const banned = forbidden(kind, pkg.name)
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
    if (banned.includes(dep)) problems.push(`${dir}/package.json: a ${kind} depends on ${dep}`)
  }
  for (const file of sources(join(ROOT, dir))) {
    const rel = relative(ROOT, file)
    if (rel === 'test/check-layout.mjs') continue
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:from|import\(|import\.meta\.resolve\()\s*'(@damselfly\/[a-z-]+)/g)) {
      if (banned.includes(m[1])) problems.push(`${rel}: a ${kind} imports ${m[1]}`)
    }
    if ((kind === 'library' || kind === 'role') && !ENTRY_POINTS.has(rel)) {
      for (const m of text.matchAll(/process\.(env|argv|exit)\b/g)) problems.push(`${rel}: a ${kind} uses process.${m[1]} (only the CLI reads argv/env and exits)`)
    }
  }
}
for (const p of problems) process.stdout.write(p + '\n')
process.exit(problems.length > 0 ? 1 : 0)
