/**
 * A refused buyer reads which rule said no, its limit and how long to wait ("per-account limit:
 * 2 per 10 s — try again in 8 s"), from what Diana sends (problem+json body, RateLimit-Policy,
 * Retry-After) and the page's labels (public/rule-labels.js). The walkthrough follows the
 * README's "Try it" steps with the demo's own defaults and diana.yaml.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { configFromEnv, DEMO_DEFAULTS } from '../../examples/flash-sale/shop-config'
import { type RunningShop, startShop } from '../../examples/flash-sale/start-shop'
import { systemClock } from '../../src/clock'
import { createFakeClock } from '../support/fake-clock'
import { describeBrowser, People, poll, signIn, view } from './browser-harness'
import { Buyer } from './shop-harness'

vi.setConfig({ testTimeout: 60_000 })

const people = new People()
const shops: RunningShop[] = []

afterAll(async () => {
  await people.close()
  await Promise.all(shops.map((shop) => shop.close()))
})

/** `npm run demo` as a visitor gets it, on a free port; the shop's (and Diana's) clock driven by hand. */
async function demoShop() {
  const clock = createFakeClock(systemClock())
  const config = configFromEnv(
    { PORT: '0', SALE_ID: `DEMO${process.pid}x${shops.length}` },
    clock(),
    DEMO_DEFAULTS,
  )
  const running = await startShop(config, { clock, watchConfig: false, workers: false })
  shops.push(running)
  return { running, clock }
}

describe('flash-sale: what a refused request carries for the page', () => {
  it('a 429 names the rule, its limit, its window and the wait', async () => {
    const { running } = await demoShop()
    const script = new Buyer(running.url, 'script')
    await script.reserve()
    // The demo's sale has not opened (15 s): the shop answers "not yet", Diana counts it.
    expect((await script.purchase('script-key-1')).status).toBe(409)
    expect((await script.purchase('script-key-2')).status).toBe(409)
    const refused = await script.purchase('script-key-3')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(refused.body).toMatchObject({
      type: 'tag:diana-limiter,2025:rate-limited',
      rule: 'account',
      limit: 2,
      retryAfter: expect.any(Number),
    })
    expect(refused.headers.get('ratelimit-policy')).toBe('"account";q=2;w=10')
    expect(refused.headers.get('retry-after')).toBe(String(refused.body.retryAfter))
  })
})

describeBrowser('flash-sale page: a refusal in words', () => {
  let page: Page
  let url: string

  beforeAll(async () => {
    const { running } = await demoShop()
    url = running.url
    page = await people.person()
    await page.goto(url)
  })

  /** What the page says for an answer `status`, `headers`, `body`, with the wait not started. */
  function said(status: number, headers: Record<string, string>, body: unknown): Promise<string | null> {
    // A string, not a function: vitest would rewrite a function's import() for Node.
    return page.evaluate(`(async () => {
      const { readRefusal, refusalText } = await import('/refusal.js')
      const refusal = readRefusal(${status}, new Headers(${JSON.stringify(headers)}), ${JSON.stringify(body)})
      return refusal === undefined ? null : refusalText(refusal, refusal.retryAfterS)
    })()`)
  }

  const refused = (rule: string, limit: number, retryAfter: number) => ({
    type: 'tag:diana-limiter,2025:rate-limited',
    title: 'Too Many Requests',
    status: 429,
    rule,
    limit,
    retryAfter,
  })

  it('names each of the shop rules with its limit and window', async () => {
    expect(await said(429, { 'ratelimit-policy': '"account";q=2;w=10' }, refused('account', 2, 8))).toBe(
      'per-account limit: 2 per 10 s — try again in 8 s',
    )
    expect(await said(429, { 'ratelimit-policy': '"device";q=4;w=10' }, refused('device', 4, 3))).toBe(
      'per-device limit: 4 per 10 s — try again in 3 s',
    )
    expect(await said(429, { 'ratelimit-policy': '"global";q=300;w=1' }, refused('global', 300, 1))).toBe(
      'whole-shop limit: 300 per second — try again in 1 s',
    )
    expect(
      await said(429, { 'ratelimit-policy': '"device-ids";q=10;w=60' }, refused('device-ids', 10, 42)),
    ).toBe('device ids per address: 10 per minute — try again in 42 s')
    // The adaptive capacity rule limits requests at once (503), not requests per window.
    expect(
      await said(
        503,
        { 'ratelimit-policy': '"capacity";q=37;w=60' },
        { ...refused('capacity', 37, 1), status: 503 },
      ),
    ).toBe('shop capacity: 37 requests at once — try again in 1 s')
  })

  it('falls back to the rule name, and to Retry-After, and ignores what is not a refusal', async () => {
    expect(await said(429, { 'ratelimit-policy': '"vip";q=5;w=300' }, refused('vip', 5, 2))).toBe(
      'rule "vip": 5 per 5 min — try again in 2 s',
    )
    expect(await said(429, {}, refused('constructor', 5, 2))).toBe('rule "constructor": 5 — try again in 2 s')
    expect(await said(429, { 'retry-after': '7' }, { ...refused('account', 2, 0), retryAfter: 'soon' })).toBe(
      'per-account limit: 2 — try again in 7 s',
    )
    expect(await said(429, {}, { ...refused('account', 2, 0), retryAfter: undefined })).toBe(
      'per-account limit: 2 — try again in 1 s',
    )
    expect(await said(429, { 'ratelimit-policy': '"account"; q=2; w=10' }, refused('account', 2, 8))).toBe(
      'per-account limit: 2 per 10 s — try again in 8 s',
    )
    // A policy of another rule is not this rule's window.
    expect(await said(429, { 'ratelimit-policy': '"device";q=4;w=10' }, refused('account', 2, 8))).toBe(
      'per-account limit: 2 — try again in 8 s',
    )
    expect(await said(429, {}, { title: 'Too Many Requests', rule: 'account' })).toBeNull()
    expect(await said(400, {}, refused('account', 2, 8))).toBeNull()
  })
})

describeBrowser('flash-sale README "Try it": sold out and the rate limit with the demo defaults', () => {
  it('three tabs of one buyer meet the per-account limit; a second buyer sells out; a third sees it', async () => {
    const { running, clock } = await demoShop()
    const info = await running.shop.info()
    expect(info).toMatchObject({ stockTotal: 2, paymentWindowMs: 60_000 })
    expect(info.startsAt - clock()).toBe(15_000)

    // Browser 1: alice signs in and opens the page in two more tabs.
    const alice = await people.person()
    await signIn(alice, running.url, 'alice')
    const tabs = [alice, await people.tab(alice, running.url), await people.tab(alice, running.url)] as const
    for (const tab of tabs) expect(await view(tab)).toMatchObject({ button: 'Not yet open', enabled: false })

    // The countdown ends; she clicks "Buy now" in each tab, within 10 s.
    clock.advance(15_000)
    for (const tab of tabs) await expect.poll(() => tab.getByTestId('buy').isEnabled(), poll).toBe(true)
    await tabs[0].getByTestId('buy').click()
    await expect
      .poll(() => tabs[0].getByTestId('result').textContent(), poll)
      .toMatch(/^Success! Order .*-000001 is yours/)
    await tabs[1].getByTestId('buy').click()
    await expect
      .poll(() => tabs[1].getByTestId('result').textContent(), poll)
      .toMatch(/^You already have order .*-000001\.$/)
    await tabs[2].getByTestId('buy').click()
    await expect
      .poll(() => tabs[2].getByTestId('result').textContent(), poll)
      .toMatch(/^per-account limit: 2 per 10 s — try again in (10|[1-9]) s$/)
    expect(await view(tabs[2])).toMatchObject({
      button: expect.stringMatching(/^Wait \d+ s$/),
      enabled: false,
    })

    // Browser 2: bob buys the last item; alice's pages say it is sold out.
    const bob = await people.person()
    await signIn(bob, running.url, 'bob')
    await bob.getByTestId('buy').click()
    await expect
      .poll(() => bob.getByTestId('result').textContent(), poll)
      .toMatch(/^Success! Order .*-000002/)
    await expect
      .poll(() => tabs[0].getByTestId('countdown').textContent(), poll)
      .toBe('Sold out for now · unpaid orders go back on sale')

    // A private window: carol finds it sold out, and the button lights up by itself once an
    // unpaid order's 60 s are up.
    const carol = await people.person()
    await signIn(carol, running.url, 'carol')
    expect(await view(carol)).toMatchObject({
      button: 'Sold out',
      enabled: false,
      result:
        'Your spot is reserved. Every item is taken for now; one goes back on sale if its buyer does not pay in time.',
    })
    clock.advance(60_000)
    expect(await running.shop.closeDue()).toBe(2)
    await expect.poll(() => carol.getByTestId('buy').isEnabled(), poll).toBe(true)
    expect(await view(carol)).toMatchObject({ button: 'Buy now', line: 'The sale is open', result: '' })
  })
})
