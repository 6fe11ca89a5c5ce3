/**
 * Leaky-bucket keys written before the backlog was kept hold one number, the TAT in epoch ms.
 * An upgraded instance must still read it as its queue (docs/redis.md, "Upgrading"), in the
 * TypeScript step and in its Lua twin alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { leakyBucket } from '../../algorithms/leaky-bucket'
import { createLimiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { RedisStore } from '../../src/stores/redis/redis-store'
import { withTestClock } from '../../src/stores/redis/test-clock'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'

const NOW = 1_700_000_000_000
// T = W/L = 1000 ms; an old TAT 500 ms ahead is half a request queued.
const params = { limit: 1, windowMs: 1000, burst: undefined, mode: undefined }

describe('leaky bucket: an old one-number TAT (TypeScript step)', () => {
  it('is read as its queue: denied with B = 0 until the TAT, admitted with the wait when B = 1', () => {
    const denied = leakyBucket.step([NOW + 500], { now: NOW, cost: 1 }, params)
    expect(denied.decision).toMatchObject({ allowed: false, retryAfterMs: 500, resetMs: 500 })
    const queued = leakyBucket.step([NOW + 500], { now: NOW, cost: 1 }, { ...params, burst: 1 })
    expect(queued.decision).toMatchObject({ allowed: true, delayMs: 500, resetMs: 1500 })
    // Rewritten in the new format: anchored now, 1500 ms of queue in 1/L ms.
    expect(queued.state).toEqual([NOW, 1500])
    // A TAT already past is an empty queue.
    expect(leakyBucket.step([NOW - 10], { now: NOW, cost: 1 }, params).decision).toMatchObject({
      allowed: true,
      delayMs: 0,
    })
  })
})

let redis: RedisProcess

describeRedis('leaky bucket: an old one-number TAT in Redis (Lua twin)', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  for (const burst of [0, 1]) {
    it(`SET key <tat> is read as its queue (burst ${burst})`, async () => {
      const prefix = `legacy${burst}`
      const rule: Rule = {
        name: 'lb',
        dimension: 'account',
        algorithm: 'leaky-bucket',
        limit: 1,
        window: 1000,
        burst,
      }
      const store = new RedisStore(
        withTestClock(
          { type: 'redis', url: redis.url, keyPrefix: prefix, logger: false, denialCache: false },
          () => NOW,
        ),
        () => NOW,
      )
      const limiter = createLimiter({ rules: [rule], store, clock: () => NOW })
      try {
        await store.ready()
        // Made once to learn the key's name, then overwritten as an old version would have.
        await limiter.check({ account: 'a' })
        const key = (await redis.cli('--scan', '--pattern', `${prefix}:*lb|a*`)).trim()
        expect(key).not.toBe('')
        await redis.cli('SET', key, String(NOW + 500), 'PX', '60000')
        const decision = await limiter.check({ account: 'a' })
        if (burst === 0)
          expect(decision).toMatchObject({ allowed: false, retryAfterMs: 500, degraded: false })
        else {
          expect(decision).toMatchObject({ allowed: true, delayMs: 500, degraded: false })
          expect(await redis.cli('GET', key)).toBe(`${NOW},1500`)
        }
      } finally {
        await limiter.close()
      }
    })
  }
})
