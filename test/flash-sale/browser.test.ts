/**
 * The page in a real browser: Debian's Chromium (never a downloaded one) driven by
 * playwright-core. The server runs on real time; the 10 s button cooldown is skipped through
 * with Playwright's page clock instead of waited for.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { type RunningShop, startShop } from '../../examples/flash-sale/start-shop'
import { systemClock } from '../../src/clock'
import { createFakeClock } from '../support/fake-clock'
import { describeBrowser, People, poll, signIn, view } from './browser-harness'
import { testConfig } from './shop-harness'

vi.setConfig({ testTimeout: 30_000 })

const people = new People()
const shops: RunningShop[] = []

afterAll(async () => {
  await people.close()
  await Promise.all(shops.map((shop) => shop.close()))
})

describeBrowser('flash-sale page in Chromium', () => {
  let alice: Page
  let bob: Page
  let running: RunningShop

  beforeAll(async () => {
    ;[alice, bob] = await Promise.all([people.person(), people.person()])
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

    expect(await view(alice)).toMatchObject({ button: 'Ordered · pay below', enabled: false })

    await alice.getByTestId('pay').click()
    await expect.poll(() => alice.getByTestId('order-status').textContent(), poll).toBe('paid')
    expect(await alice.getByTestId('result').textContent()).toBe(`Paid! Order ${orderId} is complete.`)
    expect(await running.shop.order(orderId!)).toMatchObject({ user: 'alice', status: 'paid' })
    // The only item is paid for: nothing can come back, the sale is over, and she has hers.
    expect(await view(alice)).toMatchObject({
      line: 'The sale has ended · every item is sold',
      button: 'Bought · thank you',
      enabled: false,
    })
  })

  it('tells a buyer who signs in after the last item was paid that the sale has ended', async () => {
    await signIn(bob, running.url, 'bob')
    expect(await view(bob)).toEqual({
      line: 'The sale has ended · every item is sold',
      button: 'Sold out',
      enabled: false,
      phase: 'ended',
      result: 'Your spot is reserved. The sale has ended: every item is sold.',
    })
    expect(await bob.getByTestId('order').isHidden()).toBe(true)
  })
})

describeBrowser('flash-sale page in Chromium: the button after a click and after a refusal', () => {
  it('holds the button for 10 s after a click, and names the rule that refused a second tab', async () => {
    const running = await startShop(testConfig(systemClock(), { stock: 5 }), {
      rules: [
        { name: 'global', dimension: 'global', algorithm: 'token-bucket', limit: 1000, window: '1s' },
        // One purchase request per account per 2 s: a second tab of the same buyer meets it. A
        // token bucket, not a fixed window: an epoch-aligned window could roll over between the
        // two clicks (real time) and let the second through.
        {
          name: 'account',
          dimension: 'account',
          match: { path: '/api/seckill/**' },
          algorithm: 'token-bucket',
          limit: 1,
          window: '2s',
        },
      ],
    })
    shops.push(running)
    const dave = await people.person()
    await signIn(dave, running.url, 'dave')
    const second = await people.tab(dave, running.url)
    await second.clock.pauseAt((await second.evaluate(() => Date.now())) + 100)

    await dave.getByTestId('buy').click()
    await expect.poll(() => dave.getByTestId('result').textContent(), poll).toMatch(/^Success! Order /)

    // The second tab does not know of the order: it offers to buy, and Diana says no.
    expect(await view(second)).toMatchObject({ button: 'Buy now', enabled: true })
    await second.getByTestId('buy').click()
    await expect
      .poll(() => second.getByTestId('result').textContent(), poll)
      .toMatch(/^per-account limit: 1 per 2 s — try again in [12] s$/)
    // Disabled for 10 s after the click, whatever the answer; the message counts down too.
    expect(await view(second)).toMatchObject({ button: 'Wait 10 s', enabled: false })
    await second.clock.fastForward(9_900)
    expect(await view(second)).toMatchObject({
      button: 'Wait 1 s',
      enabled: false,
      result: 'per-account limit: 1 per 2 s — you can try again now',
    })
    await second.clock.runFor(500)
    await expect.poll(() => second.getByTestId('buy').isEnabled(), poll).toBe(true)
    expect(await second.getByTestId('buy').textContent()).toBe('Buy now')
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
    const carol = await people.person()
    await signIn(carol, running.url, 'carol')
    const buy = carol.getByTestId('buy')
    await carol.waitForSelector('[data-testid="buy"]:not([disabled])', { timeout: 15_000 })
    await buy.click()
    await expect.poll(() => carol.getByTestId('order-status').textContent(), poll).toBe('pending')
    const orderId = await carol.getByTestId('order-id').textContent()
    expect(await carol.getByTestId('pay-left').textContent()).toMatch(/^[01]:\d\d left to pay/)
    expect(await view(carol)).toMatchObject({ button: 'Ordered · pay below', enabled: false })
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
    // The item is back and she holds no order: the page offers it again, the success is gone.
    expect(await view(carol)).toMatchObject({ line: 'The sale is open', phase: 'live', result: '' })

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
