// Bundles the compiled CLI (tsc's cli/dist/src) into cli/dist/bin: what `damselfly`, `dfget`, the lab
// and the image run. Why: a daemon loaded ~1,400 ES modules at start (libp2p, fastify, zod, undici …),
// and Node's per-module resolution (package.json lookups, stats, URL parsing) cost more CPU than the
// code itself — ~0.7 CPU s for `damselfly --version`, ~1 CPU s per daemon. One bundle with code
// splitting keeps the lazy paths lazy (`get` loads only the client, S3 only when an s3:// URL comes).
// Kept outside the bundle: what finds files next to itself (piscina starts its own worker file),
// native addons, and the AWS SDK (large, lazily imported, only for s3://).
import { build } from 'esbuild'
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const outdir = `${root}cli/dist/bin`

await rm(outdir, { recursive: true, force: true })
await build({
  absWorkingDir: root,
  entryPoints: [
    'cli/dist/src/damselfly.js',
    'cli/dist/src/dfget.js',
    // the hasher starts `./worker.js` beside its own module: in the bundle that is this entry
    'packages/hasher/dist/src/worker.js'
  ],
  outdir,
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  external: ['piscina', '@napi-rs/*', '@aws-sdk/*', '@smithy/*'],
  // CommonJS dependencies call require(); an ES module has none of its own
  banner: { js: "import { createRequire as __damselflyRequire } from 'node:module'; const require = __damselflyRequire(import.meta.url);" },
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning'
})
