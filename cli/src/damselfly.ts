#!/usr/bin/env -S node --heap-growing-percent=300 --max-semi-space-size=8
// V8 flags (keep in step with NODE_FLAGS in lab.ts and the Dockerfile). A peer's piece data lives in
// ArrayBuffers off the JS heap; their churn (socket reads, decryption) made V8 start a full mark-compact
// of the ~35 MB heap every ~15 MB transferred, which was the largest CPU cost of a peer. Letting the old
// generation grow 4x before the next full GC, and a 8 MiB (not 16 MiB) semi-space to hold RSS down:
// swarm of 8 x 1 GiB, same machine, same hour: 111 s / 224 CPU s -> 67 s / 138 CPU s.
import { baseProgram } from './base-program.js'

// `get` runs once per file: load only the client, not every role's implementation (~0.7 s);
// it initialises BLAKE3 itself when it has to download standalone
const get = process.argv[2] === 'get'
if (!get) await (await import('@damselfly/utils')).initBlake3()
const cli = get
  ? baseProgram((await import('./get.js')).getCommand())
  : (await import('./program.js')).program()
await cli.parseAsync(process.argv)
