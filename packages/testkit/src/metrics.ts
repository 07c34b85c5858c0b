/** A metrics endpoint's Prometheus text. */
export async function scrape (url: string): Promise<string> {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`)
  return await res.text()
}

/**
 * Sum of a metric's samples in Prometheus text whose labels contain every given `key="value"`
 * pair; throws when there is no such series (a renamed metric must fail the test, not read 0).
 */
export function metric (body: string, name: string, ...labels: string[]): number {
  const lines = body.split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '))
    .filter((l) => labels.every((x) => l.slice(0, l.lastIndexOf(' ')).includes(x)))
  if (lines.length === 0) throw new Error(`no series ${name} ${labels.join(',')} in metrics`)
  return lines.reduce((a, l) => a + Number(l.trim().split(' ').pop()), 0)
}

/** A labelled metric scraped from several endpoints and summed, by label value (each endpoint must report it). */
export async function summedBy (urls: string[], name: string, label: string): Promise<(value: string) => number> {
  const bodies = await Promise.all(urls.map(scrape))
  return (value) => bodies.reduce((a, body) => a + metric(body, name, `${label}="${value}"`), 0)
}
