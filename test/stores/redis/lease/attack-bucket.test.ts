/**
 * Token bucket leases (docs/redis.md, "Leased quotas"): stored tokens and the tokens instances
 * hold together never exceed `burst`, so the fleet admits at most burst + t·L/W in any t ms.
 * Attacks: units a denied check puts back after the next slice was asked for, and exact
 * decisions of the same key beside leased ones.
 */
import { expect, it } from 'vitest'
import type { Limiter } from '../../../../src/limiter'
import type { Rule } from '../../../../src/rules/rule'
import { createFakeClock } from '../../../support/fake-clock'
import { describeLeaseAttack, globalRule, perAccountRule } from './attack-support'

// 10 tokens, refilled at 10 an hour: with the clock standing still, 10 is all there is.
const bucket = (lease: Rule['lease']): Rule =>
  globalRule(lease, { name: 'bucket', algorithm: 'token-bucket', limit: 10 })
const perAccount = perAccountRule(1)

async function drain(limiter: Limiter, prefix: string, tries = 40): Promise<number> {
  let allowed = 0
  for (let i = 0; i < tries; i++) if ((await limiter.check({ account: `${prefix}${i}` })).allowed) allowed++
  return allowed
}

describeLeaseAttack('leased token bucket: never more than burst at once', (suite) => {
  it('units of denied checks put back after an ask are counted held: at one instant at most burst', async () => {
    // 10 tokens refilled at 10 a second, slices of 3 held up to a minute.
    const rule = { ...bucket({ maxSlice: 3, ttl: '1m' }), window: '1s' }
    const clock = createFakeClock()
    const a = suite.fleet.instance([rule, perAccount], clock)
    const b = suite.fleet.instance([rule], clock)
    await a.limiter.check({ account: 'x' })
    for (let round = 0; round < 5; round++) {
      // Checks an exact rule denies, in flight while slices are asked for.
      const denied = await Promise.all(Array.from({ length: 20 }, () => a.limiter.check({ account: 'x' })))
      expect(denied.every((d) => !d.allowed)).toBe(true)
      clock.advance(1)
    }
    // Seconds later the bucket is as full as the slices held let it be; at this one instant
    // the fleet may admit 10 (burst + 0 x L/W), the tokens held counted in.
    clock.advance(5000)
    const allowed = (await drain(b.limiter, 'b')) + (await drain(a.limiter, 'a'))
    expect(allowed).toBeLessThanOrEqual(10)
  })

  it('an instance deciding the key exactly beside leased ones admits no more than burst at one instant', async () => {
    // 10 tokens refilled at 10 a second, slices of 5 held up to a minute.
    const rule = { ...bucket({ maxSlice: 5, ttl: '1m' }), window: '1s' }
    const clock = createFakeClock()
    const leased = suite.fleet.instance([rule], clock)
    const exact = suite.fleet.instance([{ ...rule, lease: false }], clock)
    // The leased instance warms up to slices of 5 and holds some.
    for (let i = 0; i < 4; i++) {
      await leased.limiter.check({})
      clock.advance(1)
    }
    // Seconds later (within the slices' ttl) the bucket is full again: at this one instant the
    // fleet may admit 10 (burst + 0 x L/W), the tokens held counted in.
    clock.advance(5000)
    const allowed = (await drain(exact.limiter, 'e')) + (await drain(leased.limiter, 'l'))
    expect(allowed).toBeLessThanOrEqual(10)
  })
})
