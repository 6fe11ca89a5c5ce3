/**
 * Instances for the lease attack suites: each a limiter on a RedisStore of its own (its own
 * instance id) on one Redis, all on one key prefix and, where given, one fake clock.
 */
import type { Clock } from '../../../../src/clock'
import { createLimiter, type Limiter } from '../../../../src/limiter'
import type { Rule } from '../../../../src/rules/rule'
import type { RedisStoreOptions } from '../../../../src/stores/redis/options'
import { RedisStore } from '../../../../src/stores/redis/redis-store'
import { withTestClock } from '../../../../src/stores/redis/test-clock'

export interface Instance {
  limiter: Limiter
  store: RedisStore
}

export function fleetOn(url: string): {
  instance(rules: Rule[], clock?: Clock, options?: Partial<RedisStoreOptions>): Instance
  /** An instance whose store and limiter run on `clock` (a wall clock), Redis on its own TIME. */
  instanceWithClock(rules: Rule[], clock: Clock): Instance
  closeAll(): Promise<void>
} {
  const prefix = `atk${Math.random().toString(36).slice(2, 10)}`
  const open: Instance[] = []
  return {
    instance(rules, clock, options = {}) {
      const base: RedisStoreOptions = {
        type: 'redis',
        url,
        keyPrefix: prefix,
        commandTimeoutMs: 5000,
        logger: false,
        ...options,
      }
      const store = new RedisStore(clock ? withTestClock(base, clock) : base, clock ?? Date.now)
      const limiter = createLimiter({ rules, store, ...(clock ? { clock } : {}) })
      const made = { limiter, store }
      open.push(made)
      return made
    },
    instanceWithClock(rules, clock) {
      const store = new RedisStore(
        { type: 'redis', url, keyPrefix: prefix, commandTimeoutMs: 5000, logger: false },
        clock,
      )
      const limiter = createLimiter({ rules, store, clock })
      const made = { limiter, store }
      open.push(made)
      return made
    },
    async closeAll() {
      await Promise.all(
        open.splice(0).map(async ({ limiter, store }) => {
          await limiter.close()
          await store.close()
        }),
      )
    },
  }
}
