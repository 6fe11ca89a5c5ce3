/**
 * The page follows the sale's phase (examples/flash-sale/public/phase.js): before the start,
 * live, sold out for now, live again when an unpaid order's item comes back, this buyer's order,
 * paid, and the end of the sale. At each step every buyer's line, button and message are
 * checked: no "come back when the countdown ends" after it ended, no "Buy now" when there is
 * nothing this buyer can buy. The shop's clock is driven by hand, so no step waits for time.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { type RunningShop, startShop } from '../../examples/flash-sale/start-shop'
import { systemClock } from '../../src/clock'
import { createFakeClock } from '../support/fake-clock'
import { describeBrowser, People, poll, signIn, view } from './browser-harness'
import { testConfig } from './shop-harness'

vi.setConfig({ testTimeout: 60_000 })

const people = new People()
let running: RunningShop | undefined

afterAll(async () => {
  await people.close()
  await running?.close()
})

type Phase = 'before-start' | 'live' | 'sold-out' | 'ended' | 'ordered' | 'paid'

/** The line and button each phase must show; only `live` may offer to buy. */
const EXPECTED: Record<Phase, { line: RegExp; button: string; enabled: boolean }> = {
  'before-start': { line: /^Sale opens in \d+:\d\d$/, button: 'Not yet open', enabled: false },
  live: { line: /^The sale is open$/, button: 'Buy now', enabled: true },
  'sold-out': {
    line: /^Sold out for now · unpaid orders go back on sale$/,
    button: 'Sold out',
    enabled: false,
  },
  ended: { line: /^The sale has ended · every item is sold$/, button: 'Sold out', enabled: false },
  ordered: { line: /^Sold out for now/, button: 'Ordered · pay below', enabled: false },
  paid: { line: /^The sale has ended/, button: 'Bought · thank you', enabled: false },
}

/** Messages that are true in one phase only. */
const ONLY_IN: Array<[RegExp, Phase[]]> = [
  [/countdown ends/i, ['before-start']],
  [/buy now/i, ['live']],
  [/sold out|every item is taken/i, ['sold-out', 'ended']],
  [/has ended/i, ['ended']],
]

/** Waits until `page` shows `phase` (it learns the shop's time and stock by polling), then checks it. */
async function expectPhase(page: Page, phase: Phase, result?: string): Promise<void> {
  await expect.poll(() => page.getByTestId('buy').getAttribute('data-phase'), poll).toBe(phase)
  const seen = await view(page)
  const expected = EXPECTED[phase]
  expect(seen.line).toMatch(expected.line)
  expect(seen.button).toBe(expected.button)
  expect(seen.enabled).toBe(expected.enabled)
  if (result !== undefined) expect(seen.result).toBe(result)
  for (const [text, phases] of ONLY_IN) {
    if (!phases.includes(phase)) expect(seen.result ?? '').not.toMatch(text)
  }
}

describeBrowser('flash-sale page: every message and button follows the sale phase', () => {
  const clock = createFakeClock(systemClock())
  let erin: Page
  let frank: Page

  beforeAll(async () => {
    running = await startShop(testConfig(clock() + 60_000, { stock: 1, paymentWindowMs: 60_000 }), {
      clock,
      workers: false,
      rules: [{ name: 'global', dimension: 'global', algorithm: 'token-bucket', limit: 1000, window: '1s' }],
    })
    ;[erin, frank] = await Promise.all([people.person(), people.person()])
  })

  it('before the start: reserved, come back later, nothing to press', async () => {
    await signIn(erin, running!.url, 'erin')
    await expectPhase(erin, 'before-start', 'Your spot is reserved. Come back when the countdown ends.')
  })

  it('when the countdown ends, "come back later" is taken down and the button lights up', async () => {
    clock.advance(60_000)
    await expectPhase(erin, 'live', '')
    await signIn(frank, running!.url, 'frank')
    await expectPhase(frank, 'live', 'Your spot is reserved. The sale is open: buy now.')
  })

  it('one buyer takes the only item: theirs to pay, sold out for the other', async () => {
    await erin.getByTestId('buy').click()
    await expectPhase(erin, 'ordered')
    expect(await erin.getByTestId('result').textContent()).toMatch(/^Success! Order .+ is yours/)
    expect(await erin.getByTestId('pay').isVisible()).toBe(true)
    // Frank's "buy now" goes with the last item.
    await expectPhase(frank, 'sold-out', '')
  })

  it('the unpaid order closes: the item is back on sale for both', async () => {
    clock.advance(60_000)
    expect(await running!.shop.closeDue()).toBe(1)
    await expectPhase(frank, 'live')
    // Her page's one click per 10 s is over too.
    await erin.clock.fastForward(10_000)
    await expectPhase(erin, 'live', '')
    expect(await erin.getByTestId('order-status').textContent()).toBe('closed')
  })

  it('the other buyer takes and pays for it: paid for one, the end of the sale for the other', async () => {
    await frank.getByTestId('buy').click()
    await expectPhase(frank, 'ordered')
    await expectPhase(erin, 'sold-out')
    await frank.getByTestId('pay').click()
    await expectPhase(frank, 'paid')
    expect(await frank.getByTestId('result').textContent()).toMatch(/^Paid! Order .+ is complete\.$/)
    expect(await frank.getByTestId('pay').isHidden()).toBe(true)
    await expectPhase(erin, 'ended')
  })

  it('a buyer who comes back after the end reads that it ended, not "come back later"', async () => {
    // Signed out (the cookie gone), they sign in again.
    await Promise.all([erin.context().clearCookies(), frank.context().clearCookies()])
    await signIn(erin, running!.url, 'erin')
    await expectPhase(erin, 'ended', 'Welcome back. The sale has ended: every item is sold.')
    await signIn(frank, running!.url, 'frank')
    await expectPhase(frank, 'paid', 'Welcome back. Your order is paid.')
  })
})
