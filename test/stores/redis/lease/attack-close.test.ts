/**
 * close() hands every slice's unused units back (docs/redis.md, "Leased quotas"), also the
 * slices that checks still in flight were asking for when it was called: nothing of the quota
 * stays counted for an instance that is gone.
 */
import { expect, it } from 'vitest'
import { createFakeClock } from '../../../support/fake-clock'
import { describeLeaseAttack, globalRule as global } from './attack-support'

describeLeaseAttack('leased quotas: close() racing checks', (suite) => {
  it('units asked for by checks in flight at close() are handed back too', async () => {
    const clock = createFakeClock()
    const a = suite.fleet.instance([global({ maxSlice: 50 })], clock)
    // Demand enough for slices of 50, then checks in flight while the store closes.
    for (let i = 0; i < 20; i++) {
      await a.limiter.check({})
      clock.advance(1)
    }
    let allowed = 20
    let degraded = 0
    // Counted where Redis decided or a slice did; a closed store decides the rest locally.
    const inFlight = Array.from({ length: 200 }, () =>
      a.limiter.check({}).then((d) => {
        if (d.degraded) degraded++
        else if (d.allowed) allowed++
      }),
    )
    await a.store.close()
    await Promise.all(inFlight)
    const b = suite.fleet.instance([global(undefined)], clock)
    // A peek's remaining is what a check of 1 would leave.
    expect((await b.limiter.peek({})).remaining).toBe(1000 - allowed - 1)
    expect(degraded).toBeLessThan(200)
  })
})

describeLeaseAttack('leased quotas: close() leaves no lease entry behind', (suite) => {
  it('instances that closed with their slices spent no longer count as wanting the key', async () => {
    const clock = createFakeClock()
    // Five short-lived instances each spend what they took, then close (a rolling restart);
    // the pool of 2 runs dry on the first.
    for (let i = 0; i < 5; i++) {
      const gone = suite.fleet.instance([{ ...global({ maxSlice: 1 }), limit: 2 }], clock)
      await gone.limiter.check({})
      await new Promise((resolve) => setTimeout(resolve, 10)) // the slice asked ahead lands
      await gone.limiter.check({})
      await gone.limiter.close()
    }
    const tables = (await suite.redis.cli('--scan', '--pattern', '*:l')).split('\n').filter(Boolean)
    const entries = await Promise.all(tables.map((table) => suite.redis.cli('HLEN', table)))
    // Each entry counts as an instance wanting the key: the fair share of the others shrinks.
    expect(entries.map(Number).reduce((a, b) => a + b, 0)).toBe(0)
  })
})
