// A hand-written SVG of a swarm run: no charting dependency for one picture.

interface Summary {
  peers: number
  fileBytes: number
  originRateBytesPerSec: number
  floorSeconds: number
  date: string
  /** replaces the default title (peers × size, origin cap) */
  title?: string
  /** what the dashed floor line stands for @default 'file ÷ origin rate' */
  floorLabel?: string
  results: Record<string, { lastSeconds: number, p50Seconds: number, originBytes: number, cpuSeconds: number, startupCpuSeconds?: number, dataChannel?: string, peakRssBytes: number, allVerified: boolean, error?: string, skipped?: string }>
}

const COLOURS: Record<string, string> = { direct: '#9e9e9e', bittorrent: '#e6862e', damselfly: '#2e7de6' }

/** Bars of last-peer and median completion time per system, the origin floor as a line. */
export function swarmChart (s: Summary): string {
  const names = Object.keys(s.results)
  const width = 720
  const rowH = 64
  const left = 120
  const right = 40
  const top = 56
  const height = top + names.length * rowH + 56
  const max = Math.max(s.floorSeconds, ...names.map((n) => s.results[n].lastSeconds)) * 1.1 || 1
  const x = (sec: number): number => Math.round((left + (width - left - right) * sec / max) * 10) / 10
  const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;')
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`)
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`)
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(s.title ?? `${s.peers} peers × ${(s.fileBytes / 1048576).toFixed(0)} MiB, origin capped at ${(s.originRateBytesPerSec / 1048576).toFixed(0)} MiB/s`)}</text>`)
  out.push(`<text x="${left}" y="38" fill="#555">seconds until the last peer has the file (solid) and the median peer (light); ${esc(s.date)}</text>`)
  names.forEach((n, i) => {
    const r = s.results[n]
    const y = top + i * rowH
    const colour = COLOURS[n] ?? '#666'
    out.push(`<text x="${left - 8}" y="${y + 22}" text-anchor="end" font-weight="bold">${esc(n)}</text>`)
    if (r.dataChannel != null) out.push(`<text x="${left - 8}" y="${y + 38}" text-anchor="end" fill="#555">pieces over ${esc(r.dataChannel === 'off' ? 'libp2p' : r.dataChannel)}</text>`)
    if (r.error != null || r.skipped != null) {
      out.push(`<text x="${left}" y="${y + 22}" fill="#b00">${esc(r.skipped ?? 'failed: ' + (r.error ?? ''))}</text>`)
      return
    }
    out.push(`<rect x="${left}" y="${y + 8}" width="${x(r.lastSeconds) - left}" height="20" fill="${colour}"/>`)
    out.push(`<rect x="${left}" y="${y + 30}" width="${x(r.p50Seconds) - left}" height="10" fill="${colour}" opacity="0.45"/>`)
    out.push(`<text x="${x(r.lastSeconds) + 4}" y="${y + 23}">${r.lastSeconds.toFixed(1)} s</text>`)
    out.push(`<text x="${left}" y="${y + 54}" fill="#555">origin ${(r.originBytes / s.fileBytes).toFixed(2)}× file · ${r.cpuSeconds.toFixed(0)} CPU s${r.startupCpuSeconds != null ? ` (+${r.startupCpuSeconds.toFixed(0)} start-up)` : ''} · peak RSS/peer ${(r.peakRssBytes / 1048576).toFixed(0)} MiB · verified ${r.allVerified ? 'yes' : 'NO'}</text>`)
  })
  const fx = x(s.floorSeconds)
  out.push(`<line x1="${fx}" y1="${top}" x2="${fx}" y2="${height - 40}" stroke="#c00" stroke-dasharray="4 3"/>`)
  out.push(`<text x="${fx}" y="${height - 26}" text-anchor="middle" fill="#c00">${esc(s.floorLabel ?? 'file ÷ origin rate')} = ${s.floorSeconds.toFixed(1)} s</text>`)
  out.push(`<line x1="${left}" y1="${height - 40}" x2="${width - right}" y2="${height - 40}" stroke="#999"/>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}

interface ScalePoint {
  peers: number
  floorSeconds: number
  results: Record<string, { lastSeconds: number, cpuPerGiB?: number }>
}

/** Two panels over swarm size N: last-peer time (÷ floor) and CPU seconds per delivered GiB, a line per system. */
export function scaleChart (points: ScalePoint[], date: string): string {
  const systems = [...new Set(points.flatMap((p) => Object.keys(p.results)))]
  const width = 720
  const panelH = 220
  const left = 70
  const right = 30
  const top = 50
  const gap = 60
  const ns = points.map((p) => p.peers)
  const x = (n: number): number => left + (width - left - right) * (ns.length <= 1 ? 0.5 : ns.indexOf(n) / (ns.length - 1))
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top + 2 * panelH + gap + 50}" font-family="sans-serif" font-size="12">`,
    `<text x="${left}" y="24" font-size="15" font-weight="bold">Swarm size N: last peer ÷ floor, and CPU per delivered GiB (medians; ${date.slice(0, 10)})</text>`]
  const panel = (y0: number, label: string, value: (p: ScalePoint, s: string) => number | undefined): void => {
    const vals = points.flatMap((p) => systems.map((s) => value(p, s) ?? 0))
    const max = Math.max(1, ...vals) * 1.1
    const y = (v: number): number => y0 + panelH - panelH * v / max
    out.push(`<text x="${left}" y="${y0 - 8}" font-weight="bold">${label}</text>`)
    out.push(`<line x1="${left}" y1="${y0 + panelH}" x2="${width - right}" y2="${y0 + panelH}" stroke="#999"/>`)
    for (const n of ns) out.push(`<text x="${x(n)}" y="${y0 + panelH + 16}" text-anchor="middle">N=${n}</text>`)
    for (const [k, s] of systems.entries()) {
      const pts = points.map((p) => [x(p.peers), value(p, s)] as const).filter(([, v]) => v != null && v > 0)
      if (pts.length === 0) continue
      const colour = COLOURS[s] ?? '#444'
      out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.map(([px, v]) => `${px.toFixed(1)},${y(v!).toFixed(1)}`).join(' ')}"/>`)
      for (const [px, v] of pts) out.push(`<circle cx="${px.toFixed(1)}" cy="${y(v!).toFixed(1)}" r="3" fill="${colour}"/><text x="${(px + 5).toFixed(1)}" y="${(y(v!) - 5).toFixed(1)}" fill="${colour}">${v!.toFixed(2)}</text>`)
      out.push(`<text x="${width - right - 100}" y="${y0 + 14 + 14 * k}" fill="${colour}">${s}</text>`)
    }
  }
  panel(top, 'last peer ÷ floor', (p, s) => p.results[s]?.lastSeconds > 0 ? p.results[s].lastSeconds / p.floorSeconds : undefined)
  panel(top + panelH + gap, 'CPU seconds per delivered GiB', (p, s) => p.results[s]?.cpuPerGiB)
  out.push('</svg>')
  return out.join('\n') + '\n'
}
