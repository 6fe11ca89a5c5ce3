/**
 * The page holds from a 360 px phone up: at 360 and 1280 px wide, nothing is wider than the
 * document, and nothing in a card (header, product, sale) reaches outside it, signed out (the
 * sign-in form) and signed in with an order and a refusal showing. With
 * FLASH_SALE_SCREENSHOTS=1 it saves the screenshots in docs/flash-sale/.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { type RunningShop, startShop } from '../../examples/flash-sale/start-shop'
import { systemClock } from '../../src/clock'
import { describeBrowser, People, poll, signIn } from './browser-harness'
import { testConfig } from './shop-harness'

vi.setConfig({ testTimeout: 60_000 })

const DOCS = join(import.meta.dirname, '../../docs/flash-sale')
const SAVE = process.env.FLASH_SALE_SCREENSHOTS === '1'

const people = new People()
let running: RunningShop | undefined

afterAll(async () => {
  await people.close()
  await running?.close()
})

// Every element that sticks out of the document or of its card, described; empty when none
// does. Run in the page (a string: this project's TypeScript has no DOM types).
const OVERFLOWS = `(() => {
  const name = (node) =>
    node.tagName.toLowerCase() + (node.id ? '#' + node.id : '') +
    (typeof node.className === 'string' && node.className.trim() ? '.' + node.className.trim().split(' ').filter(Boolean).join('.') : '')
  const found = []
  const doc = document.documentElement
  if (doc.scrollWidth > doc.clientWidth) found.push('document: ' + doc.scrollWidth + ' px wide in ' + doc.clientWidth)
  for (const card of document.querySelectorAll('header, .product, .sale')) {
    if (card.scrollWidth > card.clientWidth) found.push(name(card) + ': scrolls (' + card.scrollWidth + ' > ' + card.clientWidth + ')')
    const outer = card.getBoundingClientRect()
    for (const node of card.querySelectorAll('*')) {
      const box = node.getBoundingClientRect()
      if (box.width === 0 && box.height === 0) continue
      if (box.left < outer.left - 0.5 || box.right > outer.right + 0.5) {
        found.push(name(node) + ' [' + Math.round(box.left) + ', ' + Math.round(box.right) + '] outside ' +
          name(card) + ' [' + Math.round(outer.left) + ', ' + Math.round(outer.right) + ']')
      }
    }
  }
  return found
})()`

function overflows(page: Page): Promise<string[]> {
  return page.evaluate(OVERFLOWS)
}

describeBrowser('flash-sale page layout at 360 and 1280 px', () => {
  beforeAll(async () => {
    // The shop's own rules (diana.yaml), so the screenshots show what a visitor of the demo sees.
    running = await startShop(testConfig(systemClock(), { stock: 5 }), { watchConfig: false })
    if (SAVE) mkdirSync(DOCS, { recursive: true })
  })

  for (const width of [360, 1280]) {
    it(`${width} px: signed out, the sign-in form stays inside its card`, async () => {
      const page = await people.person({ width, height: 800 })
      await page.goto(running!.url)
      await expect.poll(() => page.getByTestId('countdown').textContent(), poll).toBe('The sale is open')
      await page.getByLabel('Your name').fill('a-rather-long-user-name-32chars_')
      expect(await page.getByTestId('reserve-form').isVisible()).toBe(true)
      expect(await overflows(page)).toEqual([])
      if (SAVE) await page.screenshot({ path: join(DOCS, `shop-${width}.png`), fullPage: true })
    })

    it(`${width} px: signed in with a long name, an order and a refusal, nothing spills`, async () => {
      const page = await people.person({ width, height: 900 })
      const user = `buyer_${width}_with_a_long_name_x`.slice(0, 32)
      await signIn(page, running!.url, user)
      // Three tabs of one buyer, as in the README: an order, "you already have it", refused.
      const second = await people.tab(page, running!.url)
      const other = await people.tab(page, running!.url)
      await page.getByTestId('buy').click()
      await expect.poll(() => page.getByTestId('order').isVisible(), poll).toBe(true)
      await second.getByTestId('buy').click()
      await expect.poll(() => second.getByTestId('result').textContent(), poll).toMatch(/^You already have/)
      await other.getByTestId('buy').click()
      await expect
        .poll(() => other.getByTestId('result').textContent(), poll)
        .toMatch(/^per-account limit: 2 per 10 s — try again in \d+ s$/)
      await page.reload()
      await expect.poll(() => page.getByTestId('order').isVisible(), poll).toBe(true)
      expect(await overflows(page)).toEqual([])
      expect(await overflows(other)).toEqual([])
      if (SAVE) await other.screenshot({ path: join(DOCS, `shop-refused-${width}.png`), fullPage: true })
    })
  }
})
