#!/usr/bin/env -S node --heap-growing-percent=300 --max-semi-space-size=8
// V8 flags (keep in step with NODE_FLAGS in lab.ts and the Dockerfile). A peer's piece data lives in
// ArrayBuffers off the JS heap; their churn (socket reads, decryption) made V8 start a full mark-compact
// of the ~35 MB heap every ~15 MB transferred, which was the largest CPU cost of a peer. Letting the old
// generation grow 4x before the next full GC, and a 8 MiB (not 16 MiB) semi-space to hold RSS down:
// swarm of 8 x 1 GiB, same machine, same hour: 111 s / 224 CPU s -> 67 s / 138 CPU s.
import { setFlagsFromString } from 'node:v8'
import { useCompileCache } from './compile-cache.js'

// Peers and seeds (not the scheduler, not the CLI's clients) run JavaScript up to V8's Maglev tier,
// not TurboFan. Their JavaScript is glue around sockets, disks and the hasher (the bytes move in
// the kernel and in native code), and TurboFan kept compiling it, and again after deopts, through
// every download: 16 peers x 512 MiB on 2 cores, first download 19.0-19.2 -> 17.9-18.0 CPU s, a
// warm second one 13.6 -> 12.9. Peers also keep WebAssembly in Liftoff: theirs is small
// (libp2p-noise's ChaCha20 for small frames, the pnet's XSalsa20, llhttp for one access check per
// download) and TurboFan compiled it on every peer anyway (~65 ms each); bench swarm at 16 peers,
// 3 runs each: 19.25-19.75 -> 18.42-18.68 CPU s. The seed keeps TurboFan for WebAssembly (llhttp
// parses every origin byte it fetches); the scheduler keeps both (its plans are real work: 3.3x
// slower without TurboFan). Set before any role's code loads; DAMSELFLY_TURBOFAN=1 keeps V8's
// defaults, for comparison.
const role = process.argv[2]
if ((role === 'daemon' || role === 'seed') && process.env.DAMSELFLY_TURBOFAN !== '1') {
  setFlagsFromString('--max-opt=2')
  if (role === 'daemon') setFlagsFromString('--liftoff-only')
}
// after the flags (they are part of the cache's key), before any chunk loads
useCompileCache()

// One role per process: load only that role's command, not every role's implementation. `get`
// runs once per file (~0.7 s less); a daemon does not evaluate the scheduler's, the lab's or the
// client's modules and the libraries only they use. Anything else (help, lab, config …) loads all.
const { baseProgram } = await import('./base-program.js')
const cli = role === 'get'
  ? baseProgram((await import('./get.js')).getCommand())
  : role === 'daemon' || role === 'seed'
    ? baseProgram((await import('./daemon-command.js')).roleCommand(role === 'seed' ? 'seed' : 'peer'))
    : role === 'scheduler'
      ? baseProgram((await import('./scheduler-command.js')).schedulerCommand())
      : (await import('./program.js')).program()
// every role but the client hashes at once; the client initialises BLAKE3 itself when it downloads standalone
if (role !== 'get') await (await import('@damselfly/utils')).initBlake3()
await cli.parseAsync(process.argv)
