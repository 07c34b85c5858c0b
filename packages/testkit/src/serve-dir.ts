#!/usr/bin/env node
// The docker-compose "hub": every file under a directory over HTTP with Range
// support, the same origin the tests use. Usage: serve-dir.js DIR [PORT] [HOST]
import { readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { startOrigin } from './origin.js'
import { writeRandomFile } from './files.js'

const [dir = '/data', port = '8080', host = '0.0.0.0'] = process.argv.slice(2)

async function walk (d: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(d, { withFileTypes: true })) {
    const p = join(d, e.name)
    if (e.isDirectory()) out.push(...await walk(p))
    else if (e.isFile()) out.push(p)
  }
  return out
}

// an empty hub still has something to distribute in the compose demo
let files = await walk(dir).catch(() => [])
if (files.length === 0 && process.env.HUB_SAMPLE_BYTES != null) {
  await writeRandomFile(join(dir, 'sample.bin'), Number(process.env.HUB_SAMPLE_BYTES))
  files = await walk(dir)
}
const origin = await startOrigin({ files: Object.fromEntries(files.map((f) => ['/' + relative(dir, f), f])), host, port: Number(port) })
process.stdout.write(JSON.stringify({ role: 'hub', url: origin.url, files: files.length }) + '\n')
// a last line with what was sent: benchmarks that run the hub in another network namespace read it from here
const stop = (): void => {
  process.stdout.write(JSON.stringify({ role: 'hub', bytesServed: origin.bytesServed, requests: origin.requests }) + '\n')
  origin.stop().finally(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
