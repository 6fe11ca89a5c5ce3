/**
 * A denial consumes nothing, so in the usual case it must not write either: a SET in the
 * script is replicated and persisted, and denials are what a limiter under attack does most.
 * The Lua steps return the state table itself when a denial leaves it as it was.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Rule } from '../../../src/rules/rule'
import { describeRedis, type RedisProcess, startRedis } from '../../support/redis-server'
import { watchedRedisLimiters } from '../../support/watched-redis-limiter'

let redis: RedisProcess
const watch = watchedRedisLimiters()

const rules: Rule[] = [
  { name: 'fw', dimension: 'account', algorithm: 'fixed-window', limit: 3, window: '1h' },
  { name: 'sw', dimension: 'account', algorithm: 'sliding-window', limit: 3, window: '1h' },
  { name: 'tb', dimension: 'account', algorithm: 'token-bucket', limit: 3, window: '1h' },
  { name: 'lb', dimension: 'account', algorithm: 'leaky-bucket', limit: 3, window: '1h', burst: 2 },
]

async function setCalls(): Promise<number> {
  const stats = await redis.cli('INFO', 'commandstats')
  const match = /cmdstat_set:calls=(\d+)/.exec(stats)
  return match ? Number(match[1]) : 0
}

describeRedis('denials in Redis', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  for (const rule of rules) {
    it(`${rule.algorithm}: repeated denials of a key write nothing`, async () => {
      // No denial cache: every denial must reach the script.
      const { limiter, store } = watch([rule], { url: redis.url, denialCache: false })
      await store.ready()
      let allowed = 0
      while ((await limiter.check({ account: 'a' })).allowed) allowed++
      expect(allowed).toBeGreaterThan(0)
      await redis.cli('CONFIG', 'RESETSTAT')
      for (let i = 0; i < 20; i++) expect((await limiter.check({ account: 'a' })).allowed).toBe(false)
      expect(await setCalls()).toBe(0)
    })
  }
})
