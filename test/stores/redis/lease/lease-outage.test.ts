/**
 * A leased rule while its Redis is killed mid-window and comes back empty: checks never fail;
 * the slice this instance already holds is honoured (allowed, not degraded) until it runs out;
 * then the local fallback decides, with what the instance already took from Redis counted
 * against its share, as for exact rules (docs/redis.md, "the allowance"); and once Redis
 * answers again, slices are leased again.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createLimiter, type Limiter } from '../../../../src/limiter'
import type { Rule } from '../../../../src/rules/rule'
import { RedisStore } from '../../../../src/stores/redis/redis-store'
import { withTestClock } from '../../../../src/stores/redis/test-clock'
import { createFakeClock, DEFAULT_START_MS, type FakeClock } from '../../../support/fake-clock'
import { describeRedis, type RedisProcess, startRedis } from '../../../support/redis-server'

let redis: RedisProcess

function limiterOn(rule: Rule, clock: FakeClock, keyPrefix: string): { limiter: Limiter; store: RedisStore } {
  const options = withTestClock(
    { type: 'redis' as const, url: redis.url, keyPrefix, commandTimeoutMs: 300, logger: false as const },
    clock,
  )
  const store = new RedisStore(options, clock)
  return { limiter: createLimiter({ rules: [rule], store, clock }), store }
}

describeRedis('leased quotas while Redis is restarted mid-window', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('the held slice, then the fallback within its allowance, then leasing again', async () => {
    const limit = 1000
    const rule: Rule = {
      name: 'hot',
      dimension: 'global',
      algorithm: 'fixed-window',
      limit,
      window: '1h',
      lease: { maxSlice: 100 },
    }
    const clock = createFakeClock(DEFAULT_START_MS + 1000)
    const keyPrefix = `outage${Date.now()}`
    const { limiter, store } = limiterOn(rule, clock, keyPrefix)
    // The same rule, exact, reads what Redis counted (leasing is not part of what is counted):
    // a peek's `remaining` is what would be left after one more check.
    const { lease: _, ...exactRule } = rule
    const { limiter: reader } = limiterOn(exactRule, clock, keyPrefix)
    const counted = async () => limit - (await reader.peek({})).remaining - 1
    try {
      // A steady 1 check/ms: slices of maxSlice, asked for ahead of time.
      let admitted = 0
      for (let i = 0; i < 150; i++) {
        clock.advance(1)
        const decision = await limiter.check({})
        expect(decision).toMatchObject({ allowed: true, degraded: false })
        admitted++
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
      const taken = await counted()
      const held = taken - admitted
      expect(held).toBeGreaterThan(0)
      expect(held).toBeLessThanOrEqual(2 * 100)

      await redis.kill()
      const seen: { allowed: boolean; degraded: boolean }[] = []
      for (let i = 0; i < 2 * limit; i++) {
        clock.advance(1)
        const decision = await limiter.check({})
        seen.push({ allowed: decision.allowed, degraded: decision.degraded })
        if (!decision.allowed) break
      }
      // First exactly the units the slice held, decided locally as if nothing happened...
      const firstDegraded = seen.findIndex((d) => d.degraded)
      expect(firstDegraded).toBe(held)
      // ...then the fallback, which counts what this instance took from Redis in the window
      // (the slices' units) against its share (the limit over the instances last seen: this
      // one and the reader): no more than the share passes in the window altogether.
      const fallback = seen.slice(held).filter((d) => d.allowed).length
      expect(seen.slice(held).every((d) => d.degraded)).toBe(true)
      const share = Math.floor(limit / store.instances)
      expect(admitted + held + fallback).toBeLessThanOrEqual(share)
      expect(fallback).toBe(share - taken)

      // Redis comes back empty: leasing resumes (a slice held, checks not degraded).
      await redis.start()
      let back = false
      for (let i = 0; i < 200 && !back; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25))
        back = !(await limiter.check({})).degraded
      }
      expect(back).toBe(true)
      // A key whose ask failed is decided exactly for a second before it is leased again.
      clock.advance(1000)
      for (let i = 0; i < 50; i++) {
        clock.advance(1)
        expect(await limiter.check({})).toMatchObject({ degraded: false })
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
      const raw = new Redis(redis.url)
      try {
        expect(await raw.keys(`${keyPrefix}*:l`)).toHaveLength(1)
      } finally {
        raw.disconnect()
      }
      // Units taken in slices exceed what the checks since used: a slice is held again.
      expect(await counted()).toBeGreaterThan(50)
    } finally {
      await limiter.close()
      await reader.close()
    }
  })
})
