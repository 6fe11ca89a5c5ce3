import { describe, expect, it } from 'vitest'
import { createLimiter, type Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import type { Subject } from '../../src/types'
import { createFakeClock } from '../support/fake-clock'

const HOUR = 3_600_000
const perAccount: Rule = {
  name: 'per-account',
  dimension: 'account',
  algorithm: 'fixed-window',
  limit: 2,
  window: '1h',
}

function setup(rules: Rule[]) {
  const clock = createFakeClock(HOUR * 472_222) // start of an hour
  return { limiter: createLimiter({ rules, clock }), clock }
}

/** Allowed checks before the first denial, up to `max`. */
async function admitted(limiter: Limiter, subject: Subject, max = 50): Promise<number> {
  for (let i = 0; i < max; i++) if (!(await limiter.check(subject)).allowed) return i
  return max
}

describe('overrides', () => {
  it('gives a listed value its own limit and every other value the base limit', async () => {
    const { limiter } = setup([{ ...perAccount, overrides: [{ values: ['vip-1'], limit: 5 }] }])
    expect(await limiter.check({ account: 'vip-1' })).toMatchObject({
      allowed: true,
      rule: 'per-account',
      limit: 5,
      remaining: 4,
    })
    expect(await admitted(limiter, { account: 'vip-1' })).toBe(4)
    expect(await limiter.check({ account: 'bob' })).toMatchObject({ limit: 2, remaining: 1 })
    expect(await admitted(limiter, { account: 'bob' })).toBe(1)
  })

  it('gives each overridden value its own state, not one shared pool', async () => {
    const { limiter } = setup([
      { ...perAccount, overrides: [{ values: ['vip-1', 'vip-2', 'team-*'], limit: 3 }] },
    ])
    expect(await admitted(limiter, { account: 'vip-1' })).toBe(3)
    expect(await admitted(limiter, { account: 'vip-2' })).toBe(3)
    expect(await admitted(limiter, { account: 'team-a' })).toBe(3)
    expect(await admitted(limiter, { account: 'team-b' })).toBe(3)
  })

  it('matches globs of the value: * and ? as in path globs, everything else literally', async () => {
    const { limiter } = setup([{ ...perAccount, overrides: [{ values: ['svc-*', 'bot-?'], limit: 4 }] }])
    expect((await limiter.check({ account: 'svc-billing' })).limit).toBe(4)
    expect((await limiter.check({ account: 'svc-' })).limit).toBe(4)
    expect((await limiter.check({ account: 'bot-7' })).limit).toBe(4)
    expect((await limiter.check({ account: 'bot-77' })).limit).toBe(2)
    expect((await limiter.check({ account: 'xsvc-billing' })).limit).toBe(2)
    expect((await limiter.check({ account: 'SVC-billing' })).limit).toBe(2)
  })

  it('takes the first override that matches, exact value or glob', async () => {
    const { limiter } = setup([
      {
        ...perAccount,
        overrides: [
          { values: ['partner-*'], limit: 10 },
          { values: ['partner-acme', 'vip'], limit: 20 },
          { values: ['vip'], limit: 30 },
          { values: ['v*'], limit: 40 },
        ],
      },
    ])
    expect((await limiter.check({ account: 'partner-acme' })).limit).toBe(10)
    expect((await limiter.check({ account: 'vip' })).limit).toBe(20)
    expect((await limiter.check({ account: 'vop' })).limit).toBe(40)
  })

  it('never limits an unlimited value by that rule; other rules still apply to it', async () => {
    const internal = { ...perAccount, overrides: [{ values: ['internal'], unlimited: true }] }
    const { limiter } = setup([internal])
    for (let i = 0; i < 100; i++) {
      expect(await limiter.check({ account: 'internal' })).toMatchObject({
        allowed: true,
        rule: undefined,
        limit: Number.POSITIVE_INFINITY,
      })
    }
    expect(await admitted(limiter, { account: 'other' })).toBe(2)

    const global: Rule = {
      name: 'all',
      dimension: 'global',
      algorithm: 'fixed-window',
      limit: 3,
      window: '1h',
    }
    const both = setup([internal, global]).limiter
    expect(await both.check({ account: 'internal' })).toMatchObject({ rule: 'all', limit: 3, remaining: 2 })
    expect(await admitted(both, { account: 'internal' })).toBe(2)
  })

  it('inherits what an override leaves out from its rule', async () => {
    const bucket: Rule = {
      name: 'bucket',
      dimension: 'account',
      algorithm: 'token-bucket',
      limit: 10,
      window: '1h',
      burst: 4,
      overrides: [
        { values: ['a'], limit: 100 }, // burst 4 still
        { values: ['b'], burst: 6 }, // limit 10 still
        { values: ['c'], window: '2h' },
      ],
    }
    const { limiter, clock } = setup([bucket])
    expect(await admitted(limiter, { account: 'a' })).toBe(4)
    expect(await admitted(limiter, { account: 'b' })).toBe(6)
    expect(await admitted(limiter, { account: 'c' })).toBe(4)
    // 10 per hour refills one in 6 min; 10 per 2 h, one in 12 min.
    clock.advance(6 * 60_000)
    expect((await limiter.check({ account: 'c' })).allowed).toBe(false)
    clock.advance(6 * 60_000)
    expect((await limiter.check({ account: 'c' })).allowed).toBe(true)
  })

  it('reports the window of the override that bound a decision (RateLimit-Policy w)', async () => {
    const { limiter } = setup([
      {
        ...perAccount,
        overrides: [
          { values: ['slow'], window: '1d' },
          { values: ['vip'], limit: 9 },
        ],
      },
    ])
    const slow = await limiter.check({ account: 'slow' })
    const vip = await limiter.check({ account: 'vip' })
    const base = await limiter.check({ account: 'base' })
    expect(limiter.windowOf('per-account', slow)).toBe(86_400_000)
    expect(limiter.windowOf('per-account', vip)).toBe(HOUR)
    expect(limiter.windowOf('per-account', base)).toBe(HOUR)
    expect(limiter.windowOf('per-account')).toBe(HOUR)
  })

  it('applies to the value of the rule’s own dimension only, within its match', async () => {
    const { limiter } = setup([
      {
        ...perAccount,
        match: { path: '/api/**' },
        overrides: [{ values: ['/api/x', 'd1'], limit: 7 }],
      },
    ])
    expect((await limiter.check({ account: 'd1', resource: '/api/x' })).limit).toBe(7)
    expect((await limiter.check({ account: 'a', resource: '/api/x', device: 'd1' })).limit).toBe(2)
    expect((await limiter.check({ account: 'd1', resource: '/web' })).rule).toBeUndefined()
  })
})

describe('overrides and setRules', () => {
  const vipRule = (overrides: Rule['overrides']): Rule => ({ ...perAccount, overrides })

  it('keeps the counters of values whose definition did not change', async () => {
    const { limiter } = setup([vipRule([{ values: ['vip-1', 'vip-2'], limit: 5 }])])
    for (const account of ['vip-1', 'vip-2', 'bob']) await limiter.check({ account })

    // vip-2 moves to an override of its own with another limit; vip-1 and bob are unchanged.
    limiter.setRules([
      vipRule([
        { values: ['vip-1'], limit: 5 },
        { values: ['vip-2', 'vip-3'], limit: 8 },
      ]),
    ])
    expect(await limiter.check({ account: 'vip-1' })).toMatchObject({ limit: 5, remaining: 3 })
    expect(await limiter.check({ account: 'bob' })).toMatchObject({ limit: 2, remaining: 0 })
    expect(await limiter.check({ account: 'vip-2' })).toMatchObject({ limit: 8, remaining: 7 })
  })

  it('keeps a value’s counters when it moves to another override with the same definition', async () => {
    const { limiter } = setup([vipRule([{ values: ['vip-1'], limit: 5 }])])
    await limiter.check({ account: 'vip-1' })
    limiter.setRules([
      vipRule([
        { values: ['partner'], limit: 9 },
        { values: ['v*'], limit: 5 },
      ]),
    ])
    expect(await limiter.check({ account: 'vip-1' })).toMatchObject({ limit: 5, remaining: 3 })
  })

  it('starts afresh the values of an override whose limit changed, and keeps the base counters', async () => {
    const { limiter } = setup([vipRule([{ values: ['vip-1'], limit: 5 }])])
    await limiter.check({ account: 'vip-1' })
    await limiter.check({ account: 'bob' })
    limiter.setRules([vipRule([{ values: ['vip-1'], limit: 6 }])])
    expect(await limiter.check({ account: 'vip-1' })).toMatchObject({ limit: 6, remaining: 5 })
    expect(await limiter.check({ account: 'bob' })).toMatchObject({ limit: 2, remaining: 0 })
  })

  it('adding or removing overrides keeps the counters of the values they do not name', async () => {
    const { limiter } = setup([perAccount])
    await limiter.check({ account: 'bob' })
    limiter.setRules([vipRule([{ values: ['vip-1'], limit: 5 }])])
    expect(await limiter.check({ account: 'bob' })).toMatchObject({ limit: 2, remaining: 0 })
    await limiter.check({ account: 'vip-1' })
    limiter.setRules([
      vipRule([
        { values: ['vip-1'], limit: 5 },
        { values: ['vip-9'], unlimited: true },
      ]),
    ])
    expect(await limiter.check({ account: 'vip-1' })).toMatchObject({ limit: 5, remaining: 3 })
  })

  it('an unlimited value that becomes limited again counts from its own state', async () => {
    const { limiter } = setup([vipRule([{ values: ['svc'], unlimited: true }])])
    for (let i = 0; i < 10; i++) expect((await limiter.check({ account: 'svc' })).allowed).toBe(true)
    limiter.setRules([perAccount])
    expect(await admitted(limiter, { account: 'svc' })).toBe(2)
  })

  it('lists the rules as written, overrides included', () => {
    const rule = vipRule([{ values: ['vip-1'], limit: 5 }])
    const { limiter } = setup([rule])
    expect(limiter.rules).toEqual([rule])
  })
})
