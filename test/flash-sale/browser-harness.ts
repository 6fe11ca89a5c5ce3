/**
 * Debian's Chromium (never a downloaded one) driven by playwright-core, for the flash-sale page
 * tests: one browser profile per person (own cookies, own device id), skipped loudly when
 * Chromium is missing unless CI requires it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { describe, expect } from 'vitest'

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
export const describeBrowser = installed ? describe : describe.skip

/** The machine may be busy: room for the page to answer, while still failing on a real bug. */
export const poll = { timeout: 10_000 }

/** Browser profiles of one test file; `close()` them in afterAll. */
export class People {
  readonly #profiles: string[] = []
  readonly #contexts: BrowserContext[] = []

  /** A fresh profile: a person with their own cookies and device id. `page.clock` is installed. */
  async person(viewport = { width: 900, height: 900 }): Promise<Page> {
    const dir = mkdtempSync(join(tmpdir(), 'flash-sale-chromium-'))
    this.#profiles.push(dir)
    const context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport,
    })
    this.#contexts.push(context)
    const page = context.pages()[0] ?? (await context.newPage())
    await page.clock.install()
    return page
  }

  /** Another tab of the same person: same cookies, same device id, its own page state. */
  async tab(of: Page, url: string): Promise<Page> {
    const page = await of.context().newPage()
    await page.clock.install()
    await page.goto(url)
    await expect.poll(() => page.getByTestId('countdown').getAttribute('data-phase'), poll).toBeTruthy()
    return page
  }

  async close(): Promise<void> {
    await Promise.all(this.#contexts.map((context) => context.close()))
    for (const dir of this.#profiles) rmSync(dir, { recursive: true, force: true })
  }
}

export async function signIn(page: Page, url: string, user: string): Promise<void> {
  await page.goto(url)
  await page.getByLabel('Your name').fill(user)
  await page.getByRole('button', { name: 'Reserve my spot' }).click()
  await expect.poll(() => page.getByTestId('who').textContent(), poll).toContain(`signed in as ${user}`)
}

/** What the buyer sees: the sale line, the button (and whether it can be pressed), the message. */
export async function view(page: Page) {
  const buy = page.getByTestId('buy')
  return {
    line: await page.getByTestId('countdown').textContent(),
    button: await buy.textContent(),
    enabled: await buy.isEnabled(),
    phase: await buy.getAttribute('data-phase'),
    result: await page.getByTestId('result').textContent(),
  }
}
