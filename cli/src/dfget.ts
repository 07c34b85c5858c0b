#!/usr/bin/env node
// Dragonfly's dfget, for existing scripts: the flags live in dfget-command.ts, loaded once the
// compile cache is on (this runs once per file, like `damselfly get`)
import { useCompileCache } from './compile-cache.js'

useCompileCache()
await (await import('./dfget-command.js')).dfgetCommand().parseAsync(process.argv)
