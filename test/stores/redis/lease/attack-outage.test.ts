/**
 * Redis hung (SIGSTOP) under leased rules (docs/redis.md, "Leased quotas", Failures): units
 * already in a slice are still admitted, and a check whose slice is spent is decided by the
 * fallback within the store's deadline, as an exact check would be, not after one deadline for
 * the ask and another for the exact call that follows it.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest'
import type { Rule } from '../../../../src/rules/rule'
import { describeRedis, type RedisProcess, startRedis } from '../../../support/redis-server'
import { fleetOn } from './attack-support'

const TIMEOUT_MS = 300
/** Room for a loaded machine; a second deadline would take the check past it. */
const MARGIN_MS = 200

let redis: RedisProcess
let fleet: ReturnType<typeof fleetOn>

const global: Rule = {
  name: 'global',
  dimension: 'global',
  algorithm: 'fixed-window',
  limit: 1000,
  window: '1h',
  lease: { maxSlice: 10 },
}
const perAccount: Rule = {
  name: 'per-account',
  dimension: 'account',
  algorithm: 'fixed-window',
  limit: 100,
  window: '1h',
}

describeRedis('leased quotas while Redis hangs', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  beforeEach(() => {
    fleet = fleetOn(redis.url)
  })
  afterEach(async () => {
    redis.resume()
    await fleet.closeAll()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  for (const [name, rules] of [
    ['a leased rule alone', [global]],
    ['a leased rule with an exact one', [global, perAccount]],
  ] as const) {
    it(`${name}: a check with no slice is decided within one deadline`, async () => {
      const { limiter, store } = fleet.instance([...rules], undefined, {
        commandTimeoutMs: TIMEOUT_MS,
        onFailure: 'open',
      })
      await store.ready()
      redis.pause()
      const started = performance.now()
      const decision = await limiter.check({ account: 'a' })
      const took = performance.now() - started
      expect(decision.degraded).toBe(true)
      expect(took).toBeLessThan(TIMEOUT_MS + MARGIN_MS)
    })
  }

  it('units in a slice are admitted while Redis hangs, and not degraded', async () => {
    const { limiter, store } = fleet.instance([global], undefined, {
      commandTimeoutMs: TIMEOUT_MS,
      onFailure: 'closed',
    })
    await store.ready()
    // Demand enough for full slices of 10, then let the prefetch land.
    for (let i = 0; i < 30; i++) await limiter.check({})
    await new Promise((resolve) => setTimeout(resolve, 50))
    redis.pause()
    const first = await limiter.check({})
    expect(first).toMatchObject({ allowed: true, degraded: false })
  })
})
