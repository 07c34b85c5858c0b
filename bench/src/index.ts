// `npm run bench -- <scenario> [--json] [--quick]`
const [scenario = 'help', ...rest] = process.argv.slice(2)
const scenarios: Record<string, string> = {
  demo: './demo.js',
  transfer: './transfer.js',
  connect: './connect.js',
  scheduler: './scheduler-bench.js',
  pools: './pools.js',
  swarm: './swarm.js',
  scale: './scale.js',
  hash: './hash.js',
  edge: './edge.js',
  idle: './idle.js'
}
if (scenarios[scenario] == null) {
  console.error(`usage: npm run bench -- <${Object.keys(scenarios).join('|')}> [--json] [--quick]`)
  process.exit(scenario === 'help' ? 0 : 2)
}
process.argv = [process.argv[0], process.argv[1], ...rest]
await import(scenarios[scenario])
