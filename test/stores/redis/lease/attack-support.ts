/**
 * What the lease attack suites share: a Redis of their own per describe block, a fleet of
 * instances on a fresh key prefix per test (each a limiter on a RedisStore of its own, its own
 * instance id, where given one fake clock), and the rules they attack.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import type { Clock } from '../../../../src/clock'
import { createLimiter, type Limiter } from '../../../../src/limiter'
import type { Rule } from '../../../../src/rules/rule'
import type { RedisStoreOptions } from '../../../../src/stores/redis/options'
import { RedisStore } from '../../../../src/stores/redis/redis-store'
import { withTestClock } from '../../../../src/stores/redis/test-clock'
import { describeRedis, type RedisProcess, startRedis } from '../../../support/redis-server'

export interface Instance {
  limiter: Limiter
  store: RedisStore
}

export interface Fleet {
  instance(rules: Rule[], clock?: Clock, options?: Partial<RedisStoreOptions>): Instance
  /** An instance whose store and limiter run on `clock` (a wall clock), Redis on its own TIME. */
  instanceWithClock(rules: Rule[], clock: Clock): Instance
  closeAll(): Promise<void>
}

export function fleetOn(url: string): Fleet {
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

/** What a suite's tests reach through: read them inside hooks and tests, not at describe time. */
export interface AttackSuite {
  /** The suite's Redis, started once before its tests. */
  readonly redis: RedisProcess
  /** This test's fleet, on a key prefix of its own; closed after the test. */
  readonly fleet: Fleet
}

/**
 * A describe block (skipped without redis-server) with its own Redis and a fresh fleet per test.
 * After each test Redis is resumed before the fleet closes, since a test that paused it would
 * otherwise leave the closing stores waiting on a server that never answers.
 */
export function describeLeaseAttack(name: string, body: (suite: AttackSuite) => void): void {
  let redis: RedisProcess | undefined
  let fleet: Fleet | undefined
  const suite: AttackSuite = {
    get redis() {
      if (redis === undefined) throw new Error('redis is started in beforeAll')
      return redis
    },
    get fleet() {
      if (fleet === undefined) throw new Error('the fleet is made in beforeEach')
      return fleet
    },
  }
  describeRedis(name, () => {
    beforeAll(async () => {
      redis = await startRedis()
    })
    beforeEach(() => {
      fleet = fleetOn(suite.redis.url)
    })
    afterEach(async () => {
      redis?.resume()
      await fleet?.closeAll()
    })
    afterAll(async () => {
      await redis?.stop()
    })
    body(suite)
  })
}

/**
 * The hot key under attack: one global quota, a fixed window of 1,000 an hour unless `shape`
 * says otherwise, leased as `lease` says (exact when undefined).
 */
export function globalRule(
  lease: Rule['lease'],
  shape: Partial<Pick<Rule, 'name' | 'algorithm' | 'limit' | 'window'>> = {},
): Rule {
  return {
    name: 'global',
    dimension: 'global',
    algorithm: 'fixed-window',
    limit: 1000,
    window: '1h',
    ...shape,
    ...(lease === undefined ? {} : { lease }),
  }
}

/** An exact per-account rule beside the leased one: `limit` an hour. */
export function perAccountRule(limit: number): Rule {
  return { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit, window: '1h' }
}
