import { afterEach } from 'vitest'
import { createLimiter, type Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import type { RedisStoreOptions } from '../../src/stores/redis/options'
import { RedisStore } from '../../src/stores/redis/redis-store'

export interface WatchedLimiter {
  limiter: Limiter
  store: RedisStore
  /** What the store logged. */
  warnings: string[]
  /** The limiter's `degraded` and `recovered` events, in order. */
  events: string[]
}

export type WatchRedisLimiter = (rules: Rule[], options: Partial<RedisStoreOptions>) => WatchedLimiter

/**
 * Builds limiters on a Redis store of their own (a key prefix no other test shares) whose log
 * lines and outage events are recorded; each test's limiters are closed after it (after the
 * suite's own afterEach, which may first have to bring Redis back).
 */
export function watchedRedisLimiters(): WatchRedisLimiter {
  const open: Limiter[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((limiter) => limiter.close()))
  })
  return (rules, options) => watchedRedisLimiter(rules, options, open)
}

function watchedRedisLimiter(
  rules: Rule[],
  options: Partial<RedisStoreOptions>,
  open: Limiter[],
): WatchedLimiter {
  const warnings: string[] = []
  const store = new RedisStore(
    {
      type: 'redis',
      keyPrefix: `t${Math.random().toString(36).slice(2, 10)}`,
      logger: { warn: (message) => warnings.push(message) },
      ...options,
    },
    Date.now,
  )
  const limiter = createLimiter({ rules, store })
  open.push(limiter)
  const events: string[] = []
  limiter.on('degraded', () => events.push('degraded'))
  limiter.on('recovered', () => events.push('recovered'))
  return { limiter, store, warnings, events }
}
