import assert from 'node:assert/strict'

/** Sum of a metric's samples (Prometheus text) whose labels contain every given `key="value"` pair; fails when there is none. */
export function metric (body: string, name: string, ...labels: string[]): number {
  const lines = body.split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '))
    .filter((l) => labels.every((x) => l.slice(0, l.lastIndexOf(' ')).includes(x)))
  assert.ok(lines.length > 0, `no series ${name} ${labels.join(',')} in metrics`)
  return lines.reduce((a, l) => a + Number(l.trim().split(' ').pop()), 0)
}
