import { describe, expect, it } from 'vitest'
import { createLimiter } from '../src/limiter'
import type { Rule } from '../src/rules/rule'
import { RuleError } from '../src/rules/rule-issue'
import { createFakeClock } from './support/fake-clock'

const perAccount: Rule = {
  name: 'per-account',
  dimension: 'account',
  algorithm: 'fixed-window',
  limit: 3,
  window: '1h',
}
const perDevice: Rule = {
  name: 'per-device',
  dimension: 'device',
  algorithm: 'token-bucket',
  limit: 2,
  window: '1h',
}
const who = { account: 'a', device: 'd' }

function setup(rules: Rule[]) {
  const clock = createFakeClock(3_600_000 * 472_222) // start of an hour
  return createLimiter({ rules, clock })
}

describe('setRules', () => {
  it('keeps the counters of rules that did not change', async () => {
    const limiter = setup([perAccount])
    await limiter.check(who)
    await limiter.check(who)
    limiter.setRules([{ ...perDevice }, { ...perAccount }]) // same definition, new position, new object
    const decision = await limiter.check({ account: 'a' })
    expect(decision).toMatchObject({ rule: 'per-account', remaining: 0, allowed: true })
    expect((await limiter.check({ account: 'a' })).allowed).toBe(false)
  })

  it.each([
    ['limit', { limit: 4 }],
    ['window', { window: '2h' }],
    ['algorithm', { algorithm: 'sliding-window' }],
    ['dimension', { dimension: ['account', 'device'] }],
  ])('starts afresh a rule whose %s changed', async (_field, change) => {
    const limiter = setup([perAccount])
    for (let i = 0; i < 3; i++) await limiter.check(who)
    expect((await limiter.check(who)).allowed).toBe(false)
    limiter.setRules([{ ...perAccount, ...change } as Rule])
    expect(await limiter.check(who)).toMatchObject({ allowed: true, rule: 'per-account' })
    expect((await limiter.check(who)).remaining).toBe((change as { limit?: number }).limit === 4 ? 2 : 1)
  })

  it('rejects a bad rule set whole and keeps the rules in force, counters included', async () => {
    const limiter = setup([perAccount])
    await limiter.check(who)
    expect(() =>
      limiter.setRules([
        { ...perAccount, limit: 100 },
        { ...perDevice, window: 'soon' },
      ]),
    ).toThrow(RuleError)
    expect(limiter.rules).toEqual([perAccount])
    // Neither the good half of the bad set (limit 100) nor the new rule took effect.
    expect(await limiter.check(who)).toMatchObject({ rule: 'per-account', limit: 3, remaining: 1 })
    expect((await limiter.check({ device: 'd' })).rule).toBeUndefined()
  })

  it('applies the new set in one step: the next check sees only the new rules', async () => {
    const limiter = setup([perAccount])
    limiter.setRules([perDevice])
    expect((await limiter.check(who)).rule).toBe('per-device')
    limiter.setRules([])
    expect((await limiter.check(who)).rule).toBeUndefined()
  })
})
