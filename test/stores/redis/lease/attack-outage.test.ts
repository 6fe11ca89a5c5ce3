/**
 * Redis hung (SIGSTOP) under leased rules (docs/redis.md, "Leased quotas", Failures): units
 * already in a slice are still admitted, and a check whose slice is spent is decided by the
 * fallback within the store's deadline, as an exact check would be, not after one deadline for
 * the ask and another for the exact call that follows it.
 */
import { expect, it } from 'vitest'
import { describeLeaseAttack, globalRule, perAccountRule } from './attack-support'

const TIMEOUT_MS = 300
/** Room for a loaded machine; a second deadline would take the check past it. */
const MARGIN_MS = 200

const global = globalRule({ maxSlice: 10 })
const perAccount = perAccountRule(100)

describeLeaseAttack('leased quotas while Redis hangs', (suite) => {
  for (const [name, rules] of [
    ['a leased rule alone', [global]],
    ['a leased rule with an exact one', [global, perAccount]],
  ] as const) {
    it(`${name}: a check with no slice is decided within one deadline`, async () => {
      const { limiter, store } = suite.fleet.instance([...rules], undefined, {
        commandTimeoutMs: TIMEOUT_MS,
        onFailure: 'open',
      })
      await store.ready()
      suite.redis.pause()
      const started = performance.now()
      const decision = await limiter.check({ account: 'a' })
      const took = performance.now() - started
      expect(decision.degraded).toBe(true)
      expect(took).toBeLessThan(TIMEOUT_MS + MARGIN_MS)
    })
  }

  it('units in a slice are admitted while Redis hangs, and not degraded', async () => {
    const { limiter, store } = suite.fleet.instance([global], undefined, {
      commandTimeoutMs: TIMEOUT_MS,
      onFailure: 'closed',
    })
    await store.ready()
    // Demand enough for full slices of 10, then let the prefetch land.
    for (let i = 0; i < 30; i++) await limiter.check({})
    await new Promise((resolve) => setTimeout(resolve, 50))
    suite.redis.pause()
    const first = await limiter.check({})
    expect(first).toMatchObject({ allowed: true, degraded: false })
  })
})
