/**
 * A Redis client the application passes in outlives every limiter made on it: a limiter
 * recreated per tenant, per test or per config reload must not leave its listeners behind.
 * Before the fix each closed store left an `error`, a `close` and a `ready` listener (and,
 * created before the client connected, a second `error`/`ready` pair), so a dozen limiters
 * on one client set off Node's MaxListenersExceededWarning and kept every closed store alive.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { RedisStore } from '../../src/stores/redis/redis-store'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'

let redis: RedisProcess

const rules: Rule[] = [
  { name: 'api', dimension: 'account', algorithm: 'token-bucket', limit: 100, window: '1s' },
]

const EVENTS = ['error', 'close', 'ready', 'end', 'connect', 'reconnecting'] as const

function counts(client: Redis): Record<string, number> {
  return Object.fromEntries(EVENTS.map((event) => [event, client.listenerCount(event)]))
}

describeRedis('a user-supplied Redis client shared by many limiters', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('12 limiters created and closed, before and after the client connects: no MaxListenersExceededWarning, listener counts back where they started', async () => {
    const warnings: string[] = []
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`)
    process.on('warning', onWarning)
    // Not yet connected: each store also waits for the first connection (a second pair).
    const client = new Redis(redis.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    })
    try {
      const before = counts(client)
      for (let round = 0; round < 12; round++) {
        const store = new RedisStore(
          { type: 'redis', client, keyPrefix: `l${round}`, logger: false },
          Date.now,
        )
        const limiter = createLimiter({ rules, store })
        // Half of them before the client is ready, half after.
        if (round >= 6) await store.ready()
        await limiter.check({ account: 'a' })
        await limiter.close()
      }
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.filter((w) => w.includes('MaxListenersExceeded'))).toEqual([])
      expect(counts(client)).toEqual(before)
      // The client is still the application's, and still works.
      expect(await client.ping()).toBe('PONG')
    } finally {
      process.off('warning', onWarning)
      client.disconnect()
    }
  })
})
