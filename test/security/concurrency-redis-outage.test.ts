/**
 * A concurrency permit taken while Redis was away lives only in the local fallback. Its
 * release must not give a permit back in Redis once Redis answers again: there it would free
 * a place another request still holds, and the key would get more than `limit` in flight.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Decision } from '../../src/decision'
import type { Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'
import { watchedRedisLimiters } from '../support/watched-redis-limiter'

let redis: RedisProcess
const watch = watchedRedisLimiters()
const rules: Rule[] = [
  { name: 'in-flight', dimension: 'account', algorithm: 'concurrency', limit: 2, window: '1m' },
]

async function healthyCheck(limiter: Limiter): Promise<Decision> {
  for (let i = 0; i < 200; i++) {
    const decision = await limiter.peek({ account: 'probe' })
    if (!decision.degraded) return limiter.check({ account: 'a' })
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error('Redis did not come back')
}

describeRedis('concurrency permits across a Redis outage', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('releasing a permit the fallback gave does not free one Redis gave', async () => {
    const { limiter } = watch(rules, {
      url: redis.url,
      failureThreshold: 1,
      probeBackoff: { minMs: 10, maxMs: 50 },
    })
    expect((await limiter.peek({ account: 'probe' })).degraded).toBe(false)
    await redis.kill()
    const duringOutage = await limiter.check({ account: 'a' })
    expect(duringOutage).toMatchObject({ allowed: true, degraded: true })
    await redis.restart()
    const first = await healthyCheck(limiter)
    const second = await limiter.check({ account: 'a' })
    expect([first.allowed, first.degraded, second.allowed, second.degraded]).toEqual([
      true,
      false,
      true,
      false,
    ])
    duringOutage.release?.()
    await new Promise((resolve) => setTimeout(resolve, 100))
    // first and second still hold both places in Redis.
    const third = await limiter.check({ account: 'a' })
    expect(third).toMatchObject({ allowed: false, degraded: false })
  })

  it('a release while Redis hangs, or after close, neither throws nor rejects anywhere', async () => {
    // Holds; kept because a refund path that forgets its catch would crash the process.
    const { limiter } = watch(rules, { url: redis.url, commandTimeoutMs: 50 })
    const held = [await limiter.check({ account: 'h' }), await limiter.check({ account: 'h' })]
    expect(held.map((decision) => decision.allowed)).toEqual([true, true])
    await redis.cli('CLIENT', 'PAUSE', '300', 'ALL')
    expect(() => held[0]?.release?.()).not.toThrow()
    await limiter.close()
    expect(() => held[1]?.release?.()).not.toThrow()
    // An unhandled rejection from either would fail this file.
    await new Promise((resolve) => setTimeout(resolve, 400))
  })
})
