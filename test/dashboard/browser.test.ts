/**
 * The dashboard in a real browser: Debian's Chromium (never a downloaded one) driven by
 * playwright-core, mounted in Express under a prefix. The page loads, refuses a wrong token,
 * shows counts moving as traffic flows, and a rule edit made in the page changes what the
 * limiter enforces. With DIANA_DASHBOARD_SCREENSHOTS=1 it writes the screenshots of
 * docs/dashboard.md to docs/dashboard/.
 */
import { existsSync, mkdirSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import express from 'express'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type DashboardHandler, dashboard } from '../../src/dashboard/index'
import { createLimiter, type Limiter } from '../../src/index'
import { recording, TOKEN } from './dashboard-harness'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
]

// Skipped loudly without Chromium; CI (.ci/run) installs it and sets DIANA_REQUIRE_BROWSER=1.
const installed = existsSync(CHROMIUM)
if (!installed) {
  if (process.env.DIANA_REQUIRE_BROWSER === '1') {
    throw new Error(
      `${CHROMIUM} is missing and DIANA_REQUIRE_BROWSER=1 requires it (apt-get install chromium)`,
    )
  }
  console.warn(`SKIPPED dashboard browser test: ${CHROMIUM} is missing (apt-get install chromium)`)
}
const describeBrowser = installed ? describe : describe.skip

vi.setConfig({ testTimeout: 30_000 })
const poll = { timeout: 10_000 }
const SCREENSHOTS =
  process.env.DIANA_DASHBOARD_SCREENSHOTS === '1'
    ? resolve(import.meta.dirname, '../../docs/dashboard')
    : undefined

const RULES = [
  { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 2, window: '1h' },
  { name: 'per-ip', dimension: 'ip', algorithm: 'sliding-window', limit: 30, window: '1m' },
  {
    name: 'new-burst-cap',
    dimension: 'ip',
    algorithm: 'token-bucket',
    limit: 5,
    window: '10s',
    shadow: true,
  },
]

describeBrowser('the dashboard in Chromium', () => {
  let limiter: Limiter
  let handler: DashboardHandler
  let server: Server
  let browser: Browser
  let page: Page
  let url: string
  const logger = recording()
  const problems: string[] = []

  beforeAll(async () => {
    limiter = createLimiter({ rules: RULES })
    handler = dashboard(limiter, { token: TOKEN, allowEdits: true, logger })
    const app = express()
    app.use('/ops', handler)
    server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ops`
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS })
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage()
    // A CSP violation or a script error shows up here.
    page.on('console', (message) => {
      const where = message.location().url
      // The refused token's 401 is expected, and the browser's own favicon request is not ours.
      if (message.type() !== 'error' || /401/.test(message.text()) || where.endsWith('/favicon.ico')) return
      problems.push(`${message.text()} at ${where}`)
    })
    page.on('pageerror', (error) => problems.push(error.message))
  })

  afterAll(async () => {
    await browser?.close()
    handler?.close()
    server?.closeAllConnections()
    await new Promise((resolve) => server?.close(resolve))
    await limiter?.close()
  })

  async function shoot(name: string): Promise<void> {
    if (SCREENSHOTS === undefined) return
    mkdirSync(SCREENSHOTS, { recursive: true })
    await page.screenshot({ path: join(SCREENSHOTS, name), fullPage: true })
  }

  /** Traffic: `n` checks of the account and address, as an app's requests would make. */
  async function traffic(account: string, n: number, ip = '192.0.2.10'): Promise<number> {
    let allowed = 0
    for (let i = 0; i < n; i++) if ((await limiter.check({ account, ip })).allowed) allowed++
    return allowed
  }

  it('loads under the prefix and refuses a wrong token', async () => {
    await page.goto(url)
    expect(new URL(page.url()).pathname).toBe('/ops/')
    await page.getByLabel('Dashboard token').fill('not-the-token-at-all')
    await page.getByRole('button', { name: 'Open' }).click()
    await expect
      .poll(() => page.getByTestId('login-error').textContent(), poll)
      .toContain('wrong dashboard token')
    await expect.poll(() => page.locator('#content').isHidden(), poll).toBe(true)
    await shoot('login-refused.png')
  })

  it('shows counts moving when traffic flows', async () => {
    await page.getByLabel('Dashboard token').fill(TOKEN)
    await page.getByRole('button', { name: 'Open' }).click()
    await expect.poll(() => page.getByTestId('connection').textContent(), poll).toBe('live')
    expect(await traffic('alice', 10)).toBe(2)
    expect(await traffic('bob', 3, '192.0.2.11')).toBe(2)
    // Six more accounts from alice's address: the shadow cap of 5 would have denied the last 3.
    for (let i = 1; i <= 6; i++) await traffic(`user-${i}`, 1)
    await expect.poll(() => page.getByTestId('total-denied-per-account').textContent(), poll).toBe('9')
    await expect.poll(() => page.getByTestId('total-allowed-per-account').textContent(), poll).toBe('10')
    await expect
      .poll(() => page.getByTestId('total-shadowDenied-new-burst-cap').textContent(), poll)
      .toBe('3')
    // Keys are pseudonyms: no account name on the page.
    const card = page.getByTestId('rule-per-account')
    expect(await card.textContent()).toMatch(/#[0-9a-f]{12}/)
    expect(await page.locator('body').textContent()).not.toContain('alice')
    // A chart per rule, drawn by uPlot.
    expect(await page.locator('.uplot canvas').count()).toBe(3)
    expect(await page.getByTestId('store-state').textContent()).toContain('this process (memory)')
    await shoot('dashboard.png')
  })

  it('applies a rule edit made in the page, which changes what the limiter enforces', async () => {
    const editor = page.getByTestId('editor-text')
    await expect.poll(() => editor.inputValue(), poll).toContain('limit: 2')
    expect(await traffic('carol', 5)).toBe(2)
    await editor.fill((await editor.inputValue()).replace('limit: 2', 'limit: 20'))
    await page.getByRole('button', { name: 'Check and show diff' }).click()
    await expect.poll(() => page.getByTestId('editor-diff').textContent(), poll).toContain('+     limit: 20')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect
      .poll(() => page.getByTestId('editor-message').textContent(), poll)
      .toMatch(/^Applied: in force/)
    expect(limiter.rules[0]?.limit).toBe(20)
    expect(await traffic('dave', 5)).toBe(5)
    expect(logger.lines.join('\n')).toContain('rules edited by token (in memory)')
    await shoot('edit.png')
  })

  it('ran with no script error and no CSP violation', () => {
    expect(problems).toEqual([])
  })
})
