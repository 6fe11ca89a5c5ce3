/**
 * `check` accepts any finite cost, so a caller that derives it from a request (a body size, a
 * header) can send an absurd one. Before the fix, a leaky bucket admitted `cost: 1e300` into an
 * empty queue: the memory store then denied the key for 1e303 ms, and in Redis the script's
 * `SET ... PX` got a negative expiry from `%d`, failed, and took down every check batched into
 * the same call (decided degraded) and counted against the breaker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLimiter, type Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'
import { watchedRedisLimiters } from '../support/watched-redis-limiter'

const HUGE = 1e300

const ruleSets: Record<string, Rule[]> = {
  'leaky-bucket': [
    { name: 'q', dimension: 'account', algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 2 },
  ],
  'token-bucket': [{ name: 't', dimension: 'account', algorithm: 'token-bucket', limit: 10, window: '1s' }],
  'fixed-window': [{ name: 'f', dimension: 'account', algorithm: 'fixed-window', limit: 10, window: '1s' }],
  'sliding-window': [
    { name: 's', dimension: 'account', algorithm: 'sliding-window', limit: 10, window: '1s' },
  ],
}

async function expectHugeCostHarmless(limiter: Limiter): Promise<void> {
  // Once on a key never seen, once on a key with a state.
  for (const account of ['fresh', 'used']) {
    if (account === 'used') expect((await limiter.check({ account })).allowed).toBe(true)
    const huge = await limiter.check({ account }, { cost: HUGE })
    expect(huge).toMatchObject({ allowed: false, degraded: false, retryAfterMs: Number.POSITIVE_INFINITY })
    expect(Number.isFinite(huge.resetMs)).toBe(true)
    expect(Number.isFinite(huge.remaining)).toBe(true)
    // Denied without consuming: the key takes an ordinary request at once.
    expect(await limiter.check({ account })).toMatchObject({ allowed: true, degraded: false })
  }
}

describe('a huge cost on the memory store', () => {
  for (const [algorithm, rules] of Object.entries(ruleSets)) {
    it(`${algorithm}: denied with no finite wait, consuming nothing`, async () => {
      const limiter = createLimiter({ rules })
      await expectHugeCostHarmless(limiter)
      await limiter.close()
    })
  }
})

let redis: RedisProcess
const watch = watchedRedisLimiters()

describeRedis('a huge cost on the Redis store', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  for (const [algorithm, rules] of Object.entries(ruleSets)) {
    it(`${algorithm}: denied, consuming nothing, and the script does not fail`, async () => {
      const { limiter, store, warnings, events } = watch(rules, { url: redis.url })
      await store.ready()
      await expectHugeCostHarmless(limiter)
      expect({ warnings, events, degraded: store.degraded }).toEqual({
        warnings: [],
        events: [],
        degraded: false,
      })
    })
  }

  it('checks batched into the same call as a huge cost are decided by Redis, not degraded', async () => {
    const { limiter, store, warnings } = watch(ruleSets['leaky-bucket'] as Rule[], { url: redis.url })
    await store.ready()
    // Started in the same tick: one script call carries all of them.
    const decisions = await Promise.all([
      limiter.check({ account: 'a' }),
      limiter.check({ account: 'b' }, { cost: HUGE }),
      limiter.check({ account: 'c' }),
      limiter.check({ account: 'b' }, { cost: HUGE }),
      limiter.check({ account: 'd' }),
    ])
    expect(decisions.map((d) => [d.allowed, d.degraded])).toEqual([
      [true, false],
      [false, false],
      [true, false],
      [false, false],
      [true, false],
    ])
    expect(warnings).toEqual([])
    expect(store.degraded).toBe(false)
  })
})
