/**
 * The scheduler's live dashboard: one self-contained page (no framework, no
 * build step) that polls the JSON API and draws the piece flow as SVG. Kept
 * as a string in the bundle so `tsc -b` alone ships it.
 */
export const DASHBOARD_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Damselfly scheduler</title>
<style>
  :root { --bg:#0f1419; --panel:#182029; --line:#2a3542; --text:#d8dee6; --dim:#8a97a6; --seed:#f0a35e; --peer:#5ec2f0; --origin:#e26d6d; --ok:#6cd08c; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; align-items:baseline; gap:24px; padding:14px 20px; border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0; }
  header .stat { color:var(--dim); } header .stat b { color:var(--text); font-size:16px; }
  #live { margin-left:auto; color:var(--dim); font-size:12px; }
  #live.ok::before { content:"\\25CF "; color:var(--ok); } #live.err::before { content:"\\25CF "; color:var(--origin); }
  main { display:grid; grid-template-columns: minmax(380px, 1fr) minmax(420px, 1.3fr); gap:16px; padding:16px 20px; }
  section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
  section h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); margin:0 0 10px; }
  #flow-section { grid-column: 1 / -1; }
  table { width:100%; border-collapse:collapse; font-size:13px; }
  th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th { color:var(--dim); font-weight:500; }
  td.num { text-align:right; font-variant-numeric: tabular-nums; }
  code { font-size:12px; color:#b9c7d6; }
  .pools { display:flex; flex-wrap:wrap; gap:10px; }
  .pool { border:1px solid var(--line); border-radius:6px; padding:8px 10px; min-width:130px; }
  .pool .name { font-weight:600; } .pool .meta { color:var(--dim); font-size:12px; } .pool .wan.hot { color:var(--origin); }
  .badge { display:inline-block; font-size:11px; padding:0 6px; border-radius:9px; background:#2a3542; }
  .badge.seed { background:#4a3522; color:var(--seed); } .badge.done { background:#1f3d2a; color:var(--ok); }
  .badge.failed { background:#4a2222; color:var(--origin); } .badge.running { background:#1f3346; color:var(--peer); }
  .bar { position:relative; height:8px; width:120px; background:#24303c; border-radius:4px; overflow:hidden; display:inline-block; vertical-align:middle; }
  .bar > span { position:absolute; left:0; top:0; bottom:0; background:var(--peer); }
  .bar.done > span { background:var(--ok); }
  .task { border-top:1px solid var(--line); padding:8px 0; } .task:first-of-type { border-top:0; }
  .task .head { display:flex; gap:10px; align-items:center; flex-wrap:wrap; }
  .task .members { display:grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap:2px 14px; margin-top:6px; font-size:12px; color:var(--dim); }
  svg text { fill: var(--text); font-size:12px; }
  svg .pool-box { fill:#1d2731; stroke:var(--line); }
  svg .edge { fill:none; stroke-linecap:round; }
  svg .peer-edge { stroke:#3c4b5a; stroke-width:1; fill:none; }
  .empty { color:var(--dim); font-style:italic; }
</style>
</head>
<body>
<header>
  <h1>Damselfly</h1>
  <span class="stat">peers <b id="s-peers">0</b></span>
  <span class="stat">seed peers <b id="s-seeds">0</b></span>
  <span class="stat">pools <b id="s-pools">0</b></span>
  <span class="stat">tasks <b id="s-tasks">0</b></span>
  <span class="stat">decisions <b id="s-decisions">0</b></span>
  <span class="stat">back-to-source <b id="s-b2s">0</b></span>
  <span id="live">connecting…</span>
</header>
<main>
  <section><h2>Node pools</h2><div id="pools" class="pools"></div>
    <h2 style="margin-top:14px">Peers</h2>
    <table><thead><tr><th>peer</th><th>pool</th><th>kind</th><th class="num">tasks</th><th class="num">uploaded</th><th class="num">pieces served</th></tr></thead><tbody id="peers"></tbody></table>
  </section>
  <section><h2>Tasks</h2><div id="tasks"><p class="empty">no tasks yet</p></div></section>
  <section id="flow-section"><h2>Piece flow — who serves whom (bytes per pool edge, lines per parent link)</h2>
    <svg id="flow" width="100%" height="360" role="img" aria-label="piece flow graph"></svg>
  </section>
</main>
<script>
'use strict'
const POLL_MS = 1000
const $ = (id) => document.getElementById(id)
const short = (id) => id ? id.slice(-8) : '?'
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]))
function fmtBytes (n) {
  if (!(n > 0)) return '0 B'
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  const i = Math.min(u.length - 1, Math.floor(Math.log(n) / Math.log(1024)))
  return (n / 1024 ** i).toFixed(i === 0 ? 0 : 1) + ' ' + u[i]
}
const SVGNS = 'http://www.w3.org/2000/svg'
function el (name, attrs, text) {
  const e = document.createElementNS(SVGNS, name)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  if (text != null) e.textContent = text
  return e
}

/** the pool's cross-pool rate against the WAN budget, when the scheduler has one */
function wanLine (name, poolWan) {
  if (poolWan == null) return ''
  const r = poolWan.pools?.[name] ?? { in: 0, out: 0 }
  const of = poolWan.budget > 0 ? ' / ' + fmtBytes(poolWan.budget) + '/s' : ''
  const hot = poolWan.budget > 0 && Math.max(r.in, r.out) >= poolWan.budget
  return '<br><span class="wan' + (hot ? ' hot' : '') + '" data-wan-in="' + Math.round(r.in) + '" data-wan-out="' + Math.round(r.out) + '" data-wan-budget="' + poolWan.budget + '">WAN in ' +
    fmtBytes(r.in) + '/s' + of + ' · out ' + fmtBytes(r.out) + '/s' + of + '</span>'
}

function renderPools (peers, poolWan) {
  const pools = new Map()
  for (const p of peers) {
    const x = pools.get(p.pool) ?? { peers: 0, seeds: 0, uploaded: 0 }
    if (p.seed) x.seeds++; else x.peers++
    x.uploaded += p.uploadedBytes ?? 0
    pools.set(p.pool, x)
  }
  $('pools').innerHTML = [...pools].sort().map(([name, x]) =>
    '<div class="pool" data-pool="' + esc(name) + '"><div class="name">' + esc(name) + '</div><div class="meta">' +
    x.peers + ' peers' + (x.seeds ? ', ' + x.seeds + ' seed' : '') + '<br>served ' + fmtBytes(x.uploaded) + wanLine(name, poolWan) + '</div></div>').join('') ||
    '<p class="empty">no peers registered</p>'
  return pools
}

function renderPeers (peers) {
  $('peers').innerHTML = peers.map((p) =>
    '<tr data-peer="' + esc(p.id) + '"><td><code title="' + esc(p.id) + '">…' + esc(short(p.id)) + '</code></td><td>' + esc(p.pool) + '</td><td>' +
    (p.seed ? '<span class="badge seed">seed</span>' : 'peer') + '</td><td class="num">' + p.tasks + '</td><td class="num">' +
    fmtBytes(p.uploadedBytes) + '</td><td class="num">' + p.piecesServed + '</td></tr>').join('')
}

function taskProgress (t) {
  const members = t.peers.filter((m) => !m.seed)
  if (!t.pieceCount || members.length === 0) return 0
  return members.reduce((a, m) => a + Math.min(1, m.pieces / t.pieceCount), 0) / members.length
}

function renderTasks (tasks) {
  if (tasks.length === 0) { $('tasks').innerHTML = '<p class="empty">no tasks yet</p>'; return }
  $('tasks').innerHTML = tasks.map((t) => {
    const pct = Math.round(taskProgress(t) * 1000) / 10
    const done = pct >= 100
    const members = t.peers.map((m) => {
      const mp = t.pieceCount ? Math.round(m.pieces / t.pieceCount * 100) : 0
      return '<div>' + (m.seed ? '<span class="badge seed">seed</span> ' : '') + '…' + esc(short(m.id)) + ' <span class="bar' + (m.done ? ' done' : '') + '" style="width:70px"><span style="width:' + mp + '%"></span></span> ' + mp + '%' +
        (m.backToSource ? ' <span class="badge failed">origin</span>' : '') + (m.parents?.length ? ' ← ' + m.parents.map(short).map(esc).join(', ') : '') + '</div>'
    }).join('')
    return '<div class="task" data-task="' + esc(t.id) + '" data-progress="' + pct + '"><div class="head"><code title="' + esc(t.id) + '">' + esc(t.id.slice(0, 12)) + '</code>' +
      '<span title="' + esc(t.url) + '">' + esc(t.url.length > 48 ? '…' + t.url.slice(-47) : t.url) + '</span>' +
      '<span>' + fmtBytes(t.contentLength) + ' · ' + t.pieceCount + ' pieces</span>' +
      '<span class="badge ' + esc(t.seedState) + '">seed ' + esc(t.seedState) + '</span>' +
      '<span class="bar' + (done ? ' done' : '') + '"><span style="width:' + pct + '%"></span></span> <b class="pct">' + pct + '%</b></div>' +
      '<div class="members">' + members + '</div></div>'
  }).join('')
}

/** Pools as columns (origin first, seed pools next), peers as dots; thick edges carry pool-to-pool bytes. */
function renderFlow (peers, tasks) {
  const svg = $('flow')
  svg.replaceChildren()
  const width = svg.clientWidth || 1000
  const height = 360
  const edges = new Map()
  for (const t of tasks) for (const [k, v] of Object.entries(t.bytesByEdge ?? {})) edges.set(k, (edges.get(k) ?? 0) + v)
  const poolNames = new Set(peers.map((p) => p.pool))
  for (const k of edges.keys()) for (const n of k.split('>')) poolNames.add(n)
  const seedPools = new Set(peers.filter((p) => p.seed).map((p) => p.pool))
  const order = [...poolNames].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  function rank (n) { return n === 'origin' ? 0 : seedPools.has(n) ? 1 : 2 }
  if (order.length === 0) { svg.appendChild(el('text', { x: 20, y: 30, class: 'empty' }, 'waiting for peers…')); return }
  // arrowheads show direction: bytes flow from the pool that served them
  const defs = el('defs', {})
  for (const [id, color] of [['origin', 'var(--origin)'], ['seed', 'var(--seed)'], ['peer', 'var(--peer)']]) {
    const m = el('marker', { id: 'arrow-' + id, viewBox: '0 0 10 10', refX: 8, refY: 5, markerWidth: 14, markerHeight: 14, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' })
    m.appendChild(el('path', { d: 'M0,0 L10,5 L0,10 z', fill: color }))
    defs.appendChild(m)
  }
  svg.appendChild(defs)
  const colW = width / order.length
  const boxes = new Map()
  const dots = new Map()
  order.forEach((name, i) => {
    const x = i * colW + 24
    const w = colW - 48
    const members = peers.filter((p) => p.pool === name)
    const perRow = Math.max(1, Math.floor((w - 20) / 64))
    const boxH = Math.max(64, 40 + Math.ceil(members.length / perRow) * 38)
    const y = (height - boxH) / 2
    boxes.set(name, { x, y, w, h: boxH })
    svg.appendChild(el('rect', { x, y, width: w, height: boxH, rx: 10, class: 'pool-box', 'data-pool': name }))
    svg.appendChild(el('text', { x: x + 10, y: y + 18, 'font-weight': 600 }, name === 'origin' ? 'origin' : name + (seedPools.has(name) ? ' (seed)' : '')))
    members.forEach((p, j) => {
      const cx = x + 26 + (j % perRow) * 64
      const cy = y + 40 + Math.floor(j / perRow) * 38
      dots.set(p.id, { cx, cy })
      const g = el('g', { 'data-peer': p.id })
      g.appendChild(el('circle', { cx, cy, r: 9, fill: p.seed ? 'var(--seed)' : 'var(--peer)' }))
      g.appendChild(el('title', {}, p.id + ' (' + p.pool + ')'))
      svg.appendChild(g)
      svg.appendChild(el('text', { x: cx - 14, y: cy + 22, 'font-size': 10, fill: 'var(--dim)' }, short(p.id).slice(-5)))
    })
    if (name === 'origin') svg.appendChild(el('circle', { cx: x + w / 2, cy: y + boxH / 2 + 6, r: 12, fill: 'var(--origin)' }))
  })
  // parent links of every task member, thin
  for (const t of tasks) for (const m of t.peers) for (const parent of m.parents ?? []) {
    const a = dots.get(parent); const b = dots.get(m.id)
    if (a == null || b == null) continue
    svg.appendChild(el('path', { d: 'M' + a.cx + ',' + a.cy + ' Q' + ((a.cx + b.cx) / 2) + ',' + (Math.min(a.cy, b.cy) - 40) + ' ' + b.cx + ',' + b.cy, class: 'peer-edge' }))
  }
  const max = Math.max(1, ...edges.values())
  for (const [k, bytes] of edges) {
    const [from, to] = k.split('>')
    const a = boxes.get(from); const b = boxes.get(to)
    if (a == null || b == null) continue
    const w = 2 + 10 * Math.sqrt(bytes / max)
    const kind = from === 'origin' ? 'origin' : seedPools.has(from) ? 'seed' : 'peer'
    const color = 'var(--' + kind + ')'
    let d, lx, ly
    if (from === to) {
      // traffic inside a pool: a loop above its box
      const x1 = a.x + a.w * 0.3; const x2 = a.x + a.w * 0.7
      d = 'M' + x1 + ',' + a.y + ' C' + x1 + ',' + (a.y - 70) + ' ' + x2 + ',' + (a.y - 70) + ' ' + x2 + ',' + a.y
      lx = a.x + a.w / 2; ly = a.y - 56
    } else {
      const x1 = a.x + a.w * 0.75; const y1 = a.y + a.h; const x2 = b.x + b.w * 0.25; const y2 = b.y + b.h
      // arcs below the boxes, deeper the farther apart, so neighbouring pools' edges stay visible
      const bend = Math.abs(order.indexOf(to) - order.indexOf(from)) > 1 ? 110 : 55
      d = 'M' + x1 + ',' + y1 + ' C' + x1 + ',' + (y1 + bend) + ' ' + x2 + ',' + (y2 + bend) + ' ' + x2 + ',' + y2
      lx = (x1 + x2) / 2 - 24; ly = (y1 + y2) / 2 + bend * 0.75 + w + 14
    }
    svg.appendChild(el('path', { d, class: 'edge', stroke: color, 'stroke-width': w.toFixed(1), 'stroke-opacity': 0.75, 'marker-end': 'url(#arrow-' + kind + ')', 'data-edge': k }))
    svg.appendChild(el('text', { x: lx, y: ly, 'font-weight': 600, 'data-edge-label': k }, fmtBytes(bytes)))
  }
}

async function getJson (path) {
  const res = await fetch(path, { cache: 'no-store' })
  if (!res.ok) throw new Error(path + ': ' + res.status)
  return await res.json()
}

async function tick () {
  try {
    const [peers, tasks, stats] = await Promise.all([getJson('/api/v1/peers'), getJson('/api/v1/tasks'), getJson('/api/v1/stats').catch(() => null)])
    peers.sort((a, b) => (b.seed - a.seed) || a.pool.localeCompare(b.pool) || a.id.localeCompare(b.id))
    const pools = renderPools(peers, stats?.poolWan)
    renderPeers(peers)
    renderTasks(tasks)
    renderFlow(peers, tasks)
    $('s-peers').textContent = peers.filter((p) => !p.seed).length
    $('s-seeds').textContent = peers.filter((p) => p.seed).length
    $('s-pools').textContent = pools.size
    $('s-tasks').textContent = tasks.length
    if (stats) { $('s-decisions').textContent = stats.decisions; $('s-b2s').textContent = stats.backToSourceDecisions }
    $('live').className = 'ok'
    $('live').textContent = 'live · ' + new Date().toLocaleTimeString()
  } catch (err) {
    $('live').className = 'err'
    $('live').textContent = 'disconnected: ' + err.message
  } finally {
    setTimeout(tick, POLL_MS)
  }
}
tick()
</script>
</body>
</html>
`
