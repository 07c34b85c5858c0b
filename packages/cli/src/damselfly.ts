#!/usr/bin/env node
import { initBlake3 } from '@damselfly/utils'
import { program } from './program.js'

await initBlake3()
await program().parseAsync(process.argv)
