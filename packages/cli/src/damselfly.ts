#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size (keep in step with NODE_FLAGS in lab.ts and the Dockerfile): a daemon's
// young generation holds short-lived per-chunk objects; piece data lives off-heap. V8 grows new
// space to 2 x 16 MiB under load, which cost ~30 MiB of RSS per peer for no measurable speed.
import { initBlake3 } from '@damselfly/utils'
import { program } from './program.js'

await initBlake3()
await program().parseAsync(process.argv)
