/**
 * The token's edges over real HTTP: a token that no client could send is refused when the
 * dashboard is made (not found out at 3 a.m.), and the scheme is matched as HTTP says
 * (case-insensitive), while anything else about the header stays strict.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { dashboard } from '../../src/dashboard/index'
import { createLimiter, type Limiter } from '../../src/index'
import { type Running, serveDashboard, TOKEN } from './dashboard-harness'

const RULES = [
  { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 5, window: '1m' },
] as const

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function limiter(): Limiter {
  const made = createLimiter({ rules: [...RULES] })
  cleanups.push(() => made.close())
  return made
}

describe('dashboard token', () => {
  it('refuses a token a client cannot send in an Authorization header', () => {
    for (const token of [
      'sixteen chars with spaces',
      'pässwört-0123456789',
      `${'a'.repeat(16)}\n`,
      ' '.repeat(20),
    ]) {
      expect(() => dashboard(limiter(), { token })).toThrow(/printable ASCII/)
    }
  })

  it('takes the Bearer scheme in any case, and nothing looser', async () => {
    const running: Running = await serveDashboard(limiter(), { token: TOKEN })
    cleanups.push(() => running.close())
    const status = async (authorization: string) =>
      (await fetch(`${running.url}/api/state`, { headers: { authorization } })).status
    expect(await status(`Bearer ${TOKEN}`)).toBe(200)
    expect(await status(`bearer ${TOKEN}`)).toBe(200)
    expect(await status(`BEARER ${TOKEN}`)).toBe(200)
    expect(await status(`Bearer ${TOKEN.toUpperCase()}`)).toBe(401)
    expect(await status(`Bearer ${TOKEN} extra`)).toBe(401)
    expect(await status(`Basic ${TOKEN}`)).toBe(401)
    expect(await status(`Bearer${TOKEN}`)).toBe(401)
    expect(await status(`Bearer ${TOKEN.slice(0, -1)}`)).toBe(401)
  })
})
