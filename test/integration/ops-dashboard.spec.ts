import assert from 'node:assert/strict'
import { mkdir, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { sha256File } from '@damselfly/testkit'
import { withLab } from '../helpers/fixtures.js'
import { getVia } from '@damselfly/cli'

// page functions run in the browser, where `document` exists; the test tsconfig has no DOM lib
declare const document: any

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** where the screenshot is kept for a person (or CI) to look at */
const ARTIFACTS = process.env.DAMSELFLY_ARTIFACTS ?? join(tmpdir(), 'damselfly-artifacts')

describe('the scheduler dashboard in a real browser', function () {
  this.timeout(240_000)
  let context: BrowserContext
  let page: Page
  const SIZE = 48 * 1024 * 1024 + 777
  /** above what the 12 MiB/s origin lets any pool move, so it shows without slowing the test */
  const BUDGET = 64 * 1024 * 1024

  before(function () { if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`) })
  after(async () => { await context?.close() })
  const f = withLab({
    name: 'dash',
    files: { 'model.bin': SIZE },
    // a slow origin, so the seed's download spans several dashboard polls
    origin: { rateBytesPerSec: 12 * 1024 * 1024 },
    lab: { peers: 4, pools: ['edge-a', 'edge-b'], schedulerArgs: ['--pool-wan-budget', '64MiB'] }
  })

  before(async function () {
    context = await chromium.launchPersistentContext(join(f.dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync']
    })
    page = context.pages()[0] ?? await context.newPage()
  })

  it('should redirect / to the dashboard and list every peer with its node pool', async () => {
    const eps = f.lab.endpoints!
    assert.equal(eps.scheduler.dashboard, `${eps.scheduler.url}/dashboard`)
    const res = await page.goto(eps.scheduler.url + '/')
    assert.equal(res?.status(), 200)
    assert.match(page.url(), /\/dashboard$/)
    await page.waitForFunction((n) => document.querySelectorAll('#peers tr').length === n, eps.peers.length + eps.seeds.length, { timeout: 20_000 })
    for (const p of [...eps.peers, ...eps.seeds]) {
      const row = page.locator(`#peers tr[data-peer="${p.id}"]`)
      assert.equal(await row.count(), 1, `peer ${p.id} missing`)
      assert.match(await row.innerText(), new RegExp(p.pool))
    }
    const pools = await page.locator('#pools .pool').evaluateAll((els) => els.map((e) => e.getAttribute('data-pool')))
    assert.deepEqual(pools.sort(), ['cloud', 'edge-a', 'edge-b'])
    assert.equal(await page.locator('#s-peers').innerText(), '4')
    assert.equal(await page.locator('#flow g[data-peer]').count(), 5)
  })

  it('should show a task appear and its progress rise live while peers download, and each pool\'s WAN rate against the pool budget', async () => {
    const eps = f.lab.endpoints!
    const url = f.url('model.bin')
    const seen: number[] = []
    // the cross-pool rate into the pools, as the API reports it and as the page shows it
    const apiWan: Array<{ budget: number, pools: Record<string, { in: number, out: number }> }> = []
    const pageWanIn: number[] = []
    const poll = setInterval(() => {
      page.evaluate(() => document.querySelector('[data-task]')?.getAttribute('data-progress') ?? null)
        .then((v) => { if (v != null) seen.push(Number(v)) }).catch(() => {})
      page.evaluate(() => [...document.querySelectorAll('.pool .wan')].map((e: any) => Number(e.getAttribute('data-wan-in'))))
        .then((v) => { pageWanIn.push(...v) }).catch(() => {})
      fetch(`${eps.scheduler.url}/api/v1/stats`).then(async (r) => await r.json()).then((j: any) => { apiWan.push(j.poolWan) }).catch(() => {})
    }, 200)
    let results
    try {
      results = await Promise.all(eps.peers.map(async (p, i) => await getVia(p, url, join(f.dir, `out-${i}.bin`))))
      await page.waitForFunction(() => document.querySelector('[data-task]')?.getAttribute('data-progress') === '100', undefined, { timeout: 20_000 })
    } finally {
      clearInterval(poll)
    }
    seen.push(Number(await page.evaluate(() => document.querySelector('[data-task]')?.getAttribute('data-progress'))))
    for (const r of results) assert.equal(r.ok, true, JSON.stringify(r))
    assert.equal(await sha256File(join(f.dir, 'out-0.bin')), f.sha['model.bin'])
    assert.ok(seen.length > 0, 'the task never appeared on the page')
    assert.ok(seen.some((v) => v < 100), `progress never showed an intermediate value: ${seen.join(',')}`)
    assert.equal(seen[seen.length - 1], 100)
    // the page moved through several values live (a joining peer may lower the average for a moment)
    assert.ok(new Set(seen.filter((v) => v > 0 && v < 100)).size >= 2, `too few live updates: ${seen.join(',')}`)

    // each edge pool took the content across pools (from the seed's), at most the budget per direction over 5 s
    assert.ok(apiWan.length > 0 && apiWan.every((w) => w.budget === BUDGET), JSON.stringify(apiWan.slice(0, 3)))
    for (const pool of ['edge-a', 'edge-b']) {
      const peak = Math.max(...apiWan.map((w) => w.pools[pool]?.in ?? 0))
      assert.ok(peak > 0 && peak <= BUDGET * 1.1, `${pool}: WAN in peaked at ${peak} B/s`)
    }
    assert.ok(Math.max(0, ...pageWanIn) > 0, 'the page never showed a pool\'s WAN rate')
    assert.match(await page.locator('.pool[data-pool="edge-a"] .wan').innerText(), /WAN in .* \/ 64\.0 MiB\/s/)

    // the flow graph carries bytes on the edge out of the seed's pool
    await page.waitForSelector('#flow [data-edge-label^="cloud>"]', { timeout: 10_000 })
    const label = await page.locator('#flow [data-edge-label^="cloud>"]').first().textContent()
    assert.match(label ?? '', /(KiB|MiB|GiB)$/)
    assert.match(await page.locator('#live').innerText(), /live/)

    await mkdir(ARTIFACTS, { recursive: true })
    const shot = join(ARTIFACTS, 'dashboard.png')
    await page.screenshot({ path: shot, fullPage: true })
    assert.ok((await stat(shot)).size > 10_000, 'screenshot is suspiciously small')
    process.stderr.write(`      dashboard screenshot: ${shot}\n`)
  })
})
