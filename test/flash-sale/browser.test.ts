/**
 * The page in a real browser: Debian's Chromium (never a downloaded one) driven by
 * playwright-core. The server runs on real time; the 10 s button cooldown is skipped through
 * with Playwright's page clock instead of waited for.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type RunningShop, startShop } from '../../examples/flash-sale/start-shop'
import { systemClock } from '../../src/clock'
import { createFakeClock } from '../support/fake-clock'
import { testConfig } from './shop-harness'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

// Skipped loudly without Chromium; CI (.ci/run) installs it and sets DIANA_REQUIRE_BROWSER=1.
const installed = existsSync(CHROMIUM)
if (!installed) {
  if (process.env.DIANA_REQUIRE_BROWSER === '1') {
    throw new Error(
      `${CHROMIUM} is missing and DIANA_REQUIRE_BROWSER=1 requires it (apt-get install chromium)`,
    )
  }
  console.warn(`SKIPPED flash-sale browser test: ${CHROMIUM} is missing (apt-get install chromium)`)
}
const describeBrowser = installed ? describe : describe.skip

// The machine may be busy: give the page room to answer, while still failing on a real bug.
vi.setConfig({ testTimeout: 30_000 })
const poll = { timeout: 10_000 }

const profiles: string[] = []
const contexts: BrowserContext[] = []
const shops: RunningShop[] = []

afterAll(async () => {
  await Promise.all(contexts.map((context) => context.close()))
  await Promise.all(shops.map((shop) => shop.close()))
  for (const dir of profiles) rmSync(dir, { recursive: true, force: true })
})

/** A fresh browser profile per person, so each has their own cookies and device id. */
async function person(): Promise<Page> {
  const dir = mkdtempSync(join(tmpdir(), 'flash-sale-chromium-'))
  profiles.push(dir)
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 900, height: 900 },
  })
  contexts.push(context)
  const page = context.pages()[0] ?? (await context.newPage())
  await page.clock.install()
  return page
}

async function signIn(page: Page, url: string, user: string): Promise<void> {
  await page.goto(url)
  await page.getByLabel('Your name').fill(user)
  await page.getByRole('button', { name: 'Reserve my spot' }).click()
  await expect.poll(() => page.getByTestId('who').textContent(), poll).toContain(`signed in as ${user}`)
}

describeBrowser('flash-sale page in Chromium', () => {
  let alice: Page
  let bob: Page
  let running: RunningShop

  beforeAll(async () => {
    ;[alice, bob] = await Promise.all([person(), person()])
    // The sale opens 4 s from now: long enough to see the grey button, short enough to wait for.
    running = await startShop(testConfig(systemClock() + 4000, { stock: 1, paymentWindowMs: 60_000 }), {
      rules: [
        { name: 'global', dimension: 'global', algorithm: 'token-bucket', limit: 1000, window: '1s' },
        // One purchase request per account per minute, so the page's retry meets Diana.
        {
          name: 'account',
          dimension: 'account',
          match: { path: '/api/seckill/**' },
          algorithm: 'token-bucket',
          limit: 1,
          window: '1m',
        },
      ],
    })
    shops.push(running)
  })

  it('counts down, lights the button, buys, shows the order and pays', async () => {
    await signIn(alice, running.url, 'alice')
    const buy = alice.getByTestId('buy')
    await expect
      .poll(() => alice.getByTestId('countdown').textContent(), poll)
      .toMatch(/^Sale opens in 0:0\d$/)
    expect(await buy.isDisabled()).toBe(true)
    expect(await buy.textContent()).toBe('Not yet open')
    expect(await alice.getByTestId('price').textContent()).toBe('€49.00')
    expect(await alice.getByTestId('stock-left').textContent()).toBe('1')

    await buy.waitFor({ state: 'visible' })
    await alice.waitForSelector('[data-testid="buy"]:not([disabled])', { timeout: 15_000 })
    expect(await alice.getByTestId('countdown').textContent()).toBe('The sale is open')
    await buy.click()

    await expect
      .poll(() => alice.getByTestId('result').textContent(), poll)
      .toMatch(/^Success! Order T\d+y\d+-000001/)
    const orderId = await alice.getByTestId('order-id').textContent()
    expect(orderId).toMatch(/-000001$/)
    expect(await alice.getByTestId('order-status').textContent()).toBe('pending')
    expect(await alice.getByTestId('pay-left').textContent()).toMatch(/^[01]:\d\d left to pay €49\.00$/)
    expect(await buy.isDisabled()).toBe(true)
    await expect.poll(() => alice.getByTestId('stock-left').textContent(), poll).toBe('0')

    await alice.getByTestId('pay').click()
    await expect.poll(() => alice.getByTestId('order-status').textContent(), poll).toBe('paid')
    expect(await alice.getByTestId('result').textContent()).toBe(`Paid! Order ${orderId} is complete.`)
    expect(await running.shop.order(orderId!)).toMatchObject({ user: 'alice', status: 'paid' })
  })

  it('tells a second buyer it is sold out, holds the button for 10 s, then shows the rate limit', async () => {
    await signIn(bob, running.url, 'bob')
    const buy = bob.getByTestId('buy')
    await bob.waitForSelector('[data-testid="buy"]:not([disabled])', { timeout: 15_000 })
    // Stop the page's clock, so the 10 s are counted exactly however slow this machine is.
    await bob.clock.pauseAt((await bob.evaluate(() => Date.now())) + 100)
    await buy.click()
    await expect.poll(() => bob.getByTestId('result').textContent(), poll).toMatch(/^Sold out\./)
    expect(await bob.getByTestId('order').isHidden()).toBe(true)

    // Disabled for 10 s after the click, whatever the answer.
    expect(await buy.isDisabled()).toBe(true)
    expect(await buy.textContent()).toBe('Wait 10 s')
    await bob.clock.fastForward(9_900)
    expect(await buy.isDisabled()).toBe(true)
    expect(await buy.textContent()).toBe('Wait 1 s')
    await bob.clock.runFor(500)
    await expect.poll(() => buy.isDisabled(), poll).toBe(false)
    expect(await buy.textContent()).toBe('Buy now')

    // The server's clock did not move: Diana's per-account quota is still spent.
    await buy.click()
    await expect
      .poll(() => bob.getByTestId('result').textContent(), poll)
      .toMatch(/^Too many requests — try again in \d+ s$/)
    const seconds = Number((await bob.getByTestId('result').textContent())!.match(/in (\d+) s/)![1])
    expect(seconds).toBeGreaterThanOrEqual(45)
    expect(seconds).toBeLessThanOrEqual(60)
  })
})

describeBrowser('flash-sale page in Chromium: an unpaid order', () => {
  it('counts down the time to pay, shows the order closed when it runs out, and lets the buyer try again', async () => {
    // The shop's clock is driven by hand: the payment window passes without waiting for it.
    const clock = createFakeClock(systemClock())
    const running = await startShop(
      testConfig(clock(), { stock: 1, paymentWindowMs: 60_000, cooldownMs: 1000 }),
      {
        clock,
        workers: false,
        rules: [
          { name: 'global', dimension: 'global', algorithm: 'token-bucket', limit: 1000, window: '1s' },
        ],
      },
    )
    shops.push(running)
    const carol = await person()
    await signIn(carol, running.url, 'carol')
    const buy = carol.getByTestId('buy')
    await carol.waitForSelector('[data-testid="buy"]:not([disabled])', { timeout: 15_000 })
    await buy.click()
    await expect.poll(() => carol.getByTestId('order-status').textContent(), poll).toBe('pending')
    const orderId = await carol.getByTestId('order-id').textContent()
    expect(await carol.getByTestId('pay-left').textContent()).toMatch(/^[01]:\d\d left to pay/)
    await expect.poll(() => carol.getByTestId('stock-left').textContent(), poll).toBe('0')

    clock.advance(60_000)
    expect(await running.shop.closeDue()).toBe(1)
    // The page learns the shop's time and stock from its next poll of /api/sale.
    await expect.poll(() => carol.getByTestId('stock-left').textContent(), poll).toBe('1')
    await expect.poll(() => carol.getByTestId('order-status').textContent(), poll).toBe('closed')
    expect(await carol.getByTestId('pay-left').textContent()).toBe(
      'Not paid in time: the item went back on sale.',
    )
    expect(await carol.getByTestId('pay').isHidden()).toBe(true)

    // Her retry key still names the closed order: the page says so and starts afresh.
    await carol.waitForSelector('[data-testid="buy"]:not([disabled])', { timeout: 15_000 })
    await buy.click()
    await expect
      .poll(() => carol.getByTestId('result').textContent(), poll)
      .toBe(`Order ${orderId} was not paid in time and has been closed. Try again for a new one.`)
    await carol.waitForSelector('[data-testid="buy"]:not([disabled])', { timeout: 15_000 })
    await buy.click()
    await expect
      .poll(() => carol.getByTestId('result').textContent(), poll)
      .toMatch(/^Success! Order .*-000002/)
    expect(await carol.getByTestId('order-status').textContent()).toBe('pending')
  })
})
