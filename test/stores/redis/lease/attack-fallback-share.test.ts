/**
 * While Redis answers, what it admits is charged to the local fallback's shares, so that an
 * outage does not hand each instance a fresh share on top of what it already took through
 * Redis (docs/redis.md, the local fallback). Slices are taken through Redis too: what an
 * instance admitted from them must count against its share when Redis goes away.
 */
import { expect, it } from 'vitest'
import { createFakeClock } from '../../../support/fake-clock'
import { describeLeaseAttack, globalRule } from './attack-support'

const global = globalRule({ maxSlice: 10 }, { limit: 100 })

describeLeaseAttack('leased quotas and the local fallback', (suite) => {
  it('one instance admits 60 from slices, then Redis hangs: the window admits 100 in all, not 160', async () => {
    const clock = createFakeClock()
    const { limiter, store } = suite.fleet.instance([global], clock, {
      commandTimeoutMs: 100,
      onFailure: 'fallback',
    })
    await store.ready()
    let allowed = 0
    for (let i = 0; i < 60; i++) {
      if ((await limiter.check({})).allowed) allowed++
      clock.advance(1)
    }
    expect(allowed).toBe(60)
    suite.redis.pause()
    for (let i = 0; i < 200; i++) {
      if ((await limiter.check({})).allowed) allowed++
    }
    expect(allowed).toBeLessThanOrEqual(100)
  })
})
