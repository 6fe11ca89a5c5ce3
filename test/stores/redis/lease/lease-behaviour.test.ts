/**
 * What a user of a leased rule (rule field `lease`) notices on one instance, against a real
 * Redis driven by a fake clock: which rules may be leased, and that peek, refund, close and
 * reset act on the slices as they act on the exact counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLimiter, type Limiter } from '../../../../src/limiter'
import type { Rule } from '../../../../src/rules/rule'
import { RedisStore } from '../../../../src/stores/redis/redis-store'
import { withTestClock } from '../../../../src/stores/redis/test-clock'
import { createFakeClock, DEFAULT_START_MS, type FakeClock } from '../../../support/fake-clock'
import { describeRedis, type RedisProcess, startRedis } from '../../../support/redis-server'

describe('which rules may be leased', () => {
  const base = { name: 'r', dimension: 'global', limit: 10, window: '1s' } as const
  it.each([
    [{ ...base, algorithm: 'leaky-bucket', lease: true }, 'lease: is not valid for leaky-bucket'],
    [{ ...base, algorithm: 'concurrency', lease: true }, 'lease: is not valid for concurrency'],
    [{ ...base, algorithm: 'fixed-window', lease: true, blockFor: '1m' }, 'lease: cannot go with blockFor'],
    [{ ...base, algorithm: 'fixed-window', lease: { ttl: '1s' } }, 'lease: ttl is for token-bucket only'],
    [{ ...base, algorithm: 'sliding-window', lease: { ttl: 500 } }, 'lease: ttl is for token-bucket only'],
    [
      { ...base, algorithm: 'token-bucket', lease: { maxSlice: 0 } },
      'lease.maxSlice: must be a whole number',
    ],
    [{ ...base, algorithm: 'token-bucket', lease: { ttl: '2m' } }, 'lease.ttl: must be a duration'],
  ])('%j is refused, naming the field', (rule, message) => {
    expect(() => createLimiter({ rules: [rule as Rule] })).toThrow(message)
  })

  it.each([
    ['fixed-window', true],
    ['sliding-window', { maxSlice: 5 }],
    ['token-bucket', { maxSlice: 5, ttl: '500ms' }],
  ])('%s with lease %j is accepted', (algorithm, lease) => {
    expect(() => createLimiter({ rules: [{ ...base, algorithm, lease } as Rule] })).not.toThrow()
  })
})

let redis: RedisProcess

describeRedis('a leased rule on one instance, against Redis', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  const LIMIT = 10
  const leased: Rule = {
    name: 'hot',
    dimension: 'global',
    algorithm: 'fixed-window',
    limit: LIMIT,
    window: '1h',
    lease: { maxSlice: 4 },
  }

  function limiterOn(rule: Rule, clock: FakeClock, keyPrefix: string): Limiter {
    const options = withTestClock(
      { type: 'redis' as const, url: redis.url, keyPrefix, logger: false as const },
      clock,
    )
    return createLimiter({ rules: [rule], store: new RedisStore(options, clock), clock })
  }

  /** Two leased instances and an exact reader of what Redis counted, on one fresh key space. */
  function setUp() {
    const clock = createFakeClock(DEFAULT_START_MS + 1000)
    const keyPrefix = `lb${Math.random().toString(36).slice(2, 10)}`
    const { lease: _, ...exact } = leased
    const reader = limiterOn(exact, clock, keyPrefix)
    const made = {
      clock,
      a: limiterOn(leased, clock, keyPrefix),
      b: limiterOn(leased, clock, keyPrefix),
      /** Units Redis counted (taken into slices, less those handed back). */
      counted: async () => {
        const peek = await reader.peek({})
        return LIMIT - peek.remaining - (peek.allowed ? 1 : 0)
      },
      /** Checks on `limiter` (1 ms apart) until one is denied; resolves with how many passed. */
      drain: async (limiter: Limiter) => {
        let allowed = 0
        for (let i = 0; i <= LIMIT; i++) {
          clock.advance(1)
          const decision = await limiter.check({})
          expect(decision.degraded).toBe(false)
          if (!decision.allowed) break
          allowed++
        }
        return allowed
      },
      close: () => Promise.all([made.a.close(), made.b.close(), reader.close()]),
    }
    return made
  }

  /** Lets asks sent ahead of time land. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 30))

  it('peek takes no slice and no units, on a fresh key and on one with a slice', async () => {
    const { a, counted, drain, close } = setUp()
    try {
      for (let i = 0; i < 5; i++) expect(await a.peek({})).toMatchObject({ allowed: true })
      expect(await counted()).toBe(0)
      for (let i = 0; i < 3; i++) expect((await a.check({})).allowed).toBe(true)
      await settle()
      const before = await counted()
      for (let i = 0; i < 10; i++) expect((await a.peek({})).allowed).toBe(true)
      await settle()
      expect(await counted()).toBe(before)
      expect(3 + (await drain(a))).toBe(LIMIT)
      // Denied now, and a peek says so without asking again.
      expect(await a.peek({})).toMatchObject({ allowed: false })
    } finally {
      await close()
    }
  })

  it('refund gives the units back into the slice: they pass again, without Redis counting less', async () => {
    const { a, counted, drain, close } = setUp()
    try {
      expect(await drain(a)).toBe(LIMIT)
      expect(await counted()).toBe(LIMIT)
      await a.refund({}, { cost: 2 })
      expect(await drain(a)).toBe(2)
      expect(await counted()).toBe(LIMIT)
      // Never more than was taken in the window.
      await a.refund({}, { cost: 50 })
      expect(await drain(a)).toBe(LIMIT)
    } finally {
      await close()
    }
  })

  it('close hands unused units back: another instance uses them in the same window', async () => {
    const { a, b, counted, drain, close } = setUp()
    try {
      expect((await a.check({})).allowed).toBe(true)
      await settle()
      expect(await counted()).toBeGreaterThan(1)
      await a.close()
      expect(await counted()).toBe(1)
      expect(await drain(b)).toBe(LIMIT - 1)
    } finally {
      await close()
    }
  })

  it("token bucket: a dead instance's slice keeps the bucket down only until its ttl", async () => {
    const clock = createFakeClock(DEFAULT_START_MS + 1000)
    const keyPrefix = `lb${Math.random().toString(36).slice(2, 10)}`
    // 1 token a second, so that what refills in the test is negligible next to the burst.
    const bucket: Rule = {
      name: 'tb',
      dimension: 'global',
      algorithm: 'token-bucket',
      limit: 10,
      window: '10s',
      burst: 10,
      lease: { maxSlice: 5, ttl: 500 },
    }
    const dead = limiterOn(bucket, clock, keyPrefix)
    const live = limiterOn(bucket, clock, keyPrefix)
    const drain = async () => {
      let allowed = 0
      for (let i = 0; i <= 10; i++) {
        clock.advance(1)
        if (!(await live.check({})).allowed) break
        allowed++
      }
      return allowed
    }
    try {
      // The instance that will die admits 3 at 1 a ms, taking slices ahead of that pace.
      for (let i = 0; i < 3; i++) {
        clock.advance(1)
        expect((await dead.check({})).allowed).toBe(true)
      }
      await new Promise((resolve) => setTimeout(resolve, 30))
      // While its slice lasts, what it holds is kept out of the bucket: the two together stay
      // within the burst.
      const first = await drain()
      expect(first).toBeGreaterThan(0)
      expect(first).toBeLessThanOrEqual(10 - 3)
      // It never comes back. Long after its ttl the bucket is full again, to the whole burst.
      clock.advance(20_000)
      expect(await drain()).toBe(10)
    } finally {
      await Promise.all([dead.close(), live.close()])
    }
  })

  it('reset forgets the key: its slice on this instance and the count in Redis', async () => {
    const { a, counted, drain, close } = setUp()
    try {
      expect(await drain(a)).toBe(LIMIT)
      await a.reset({})
      expect(await counted()).toBe(0)
      expect(await drain(a)).toBe(LIMIT)
    } finally {
      await close()
    }
  })
})
