import { describe, expect, it } from 'vitest'
import type { Decision } from '../../src/decision'
import { createLimiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { createFakeClock } from '../support/fake-clock'

const inFlight: Rule = {
  name: 'in-flight',
  dimension: 'account',
  algorithm: 'concurrency',
  limit: 2,
  window: '1m',
}
const adaptive: Rule = {
  name: 'overload',
  dimension: 'account',
  algorithm: 'adaptive-concurrency',
  limit: 2,
  minLimit: 2,
  window: '1m',
}
const quota: Rule = { name: 'quota', dimension: 'ip', algorithm: 'fixed-window', limit: 1, window: '1h' }

function setup(rules: Rule[]) {
  const clock = createFakeClock()
  return { clock, limiter: createLimiter({ rules, clock }) }
}

async function admitted(
  limiter: ReturnType<typeof createLimiter>,
  account: string,
  ip = 'x',
): Promise<number> {
  let n = 0
  for (let i = 0; i < 10; i++) if ((await limiter.check({ account, ip, priority: 'critical' })).allowed) n++
  return n
}

describe.each([inFlight, adaptive])('permits of a $algorithm rule', (rule) => {
  it('a release called many times, or on a denial, never frees more than its own permit', async () => {
    const { limiter } = setup([rule])
    const held: Decision[] = []
    for (let i = 0; i < 2; i++) held.push(await limiter.check({ account: 'a', priority: 'critical' }))
    const denied = await limiter.check({ account: 'a', priority: 'critical' })
    expect(denied.allowed).toBe(false)
    for (let i = 0; i < 5; i++) denied.release?.()
    for (let i = 0; i < 5; i++) (held[0] as Decision).release?.()
    // One place freed, and only one: in flight may not go negative and raise the limit.
    expect(await admitted(limiter, 'a')).toBe(1)
  })

  it('a request denied by another rule holds no permit', async () => {
    const { limiter } = setup([rule, quota])
    expect((await limiter.check({ account: 'a', ip: 'spent', priority: 'critical' })).allowed).toBe(true)
    for (let i = 0; i < 20; i++) {
      const decision = await limiter.check({ account: 'a', ip: 'spent', priority: 'critical' })
      expect(decision).toMatchObject({ allowed: false, rule: 'quota' })
    }
    // One of two places is held by the first request; the 20 denials took none.
    let n = 0
    for (let i = 0; i < 5; i++)
      if ((await limiter.check({ account: 'a', ip: `fresh${i}`, priority: 'critical' })).allowed) n++
    expect(n).toBe(1)
  })

  it('release after close or after the rule was removed does not throw', async () => {
    const { limiter } = setup([rule])
    const a = await limiter.check({ account: 'a', priority: 'critical' })
    const b = await limiter.check({ account: 'a', priority: 'critical' })
    limiter.setRules([quota])
    expect(() => a.release?.()).not.toThrow()
    await limiter.close()
    expect(() => b.release?.()).not.toThrow()
  })

  it('a cost above the limit is denied and holds nothing; a bad cost is a programming error', async () => {
    const { limiter } = setup([rule])
    const huge = await limiter.check({ account: 'a', priority: 'critical' }, { cost: 1e308 })
    if (rule.algorithm === 'concurrency') expect(huge.allowed).toBe(false)
    huge.release?.()
    await expect(limiter.check({ account: 'a' }, { cost: Number.NaN })).rejects.toThrow(TypeError)
    await expect(limiter.check({ account: 'a' }, { cost: -1 })).rejects.toThrow(TypeError)
    if (rule.algorithm === 'concurrency') expect(await admitted(limiter, 'a')).toBe(2)
  })
})

describe('priority from a hostile hook or header', () => {
  it('a value that is no priority, or only looks like one, never gets more than the normal share', async () => {
    // Limit 5: normal requests may fill 4 places, critical ones all 5.
    const { limiter } = setup([{ ...adaptive, limit: 5, minLimit: 5 }])
    const hostile = [
      { toString: () => 'critical' },
      ['critical'],
      '__proto__',
      'constructor',
      'CRITICAL',
      7,
      null,
    ]
    for (const [i, priority] of hostile.entries()) {
      const account = `p${i}`
      for (let n = 0; n < 4; n++) {
        expect((await limiter.check({ account, priority: priority as 'critical' })).allowed).toBe(true)
      }
      expect((await limiter.check({ account, priority: priority as 'critical' })).allowed).toBe(false)
      expect((await limiter.check({ account, priority: 'critical' })).allowed).toBe(true)
    }
  })
})
