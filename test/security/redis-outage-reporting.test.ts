/**
 * What an operator sees when Redis refuses Diana: one `degraded` event and one log line per
 * outage, naming the server's real error, and no flapping while the cause persists. Real
 * redis-server processes, broken for real: OOM under `noeviction`, an ACL user without
 * scripting, a wrong or missing password, a killed server.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import type { Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import type { RedisStoreOptions } from '../../src/stores/redis/options'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'
import { watchedRedisLimiters } from '../support/watched-redis-limiter'

let redis: RedisProcess
const watch = watchedRedisLimiters()

const rules: Rule[] = [
  { name: 'api', dimension: 'account', algorithm: 'fixed-window', limit: 1_000_000, window: '1h' },
]

function limiterOn(url: string, options: Partial<RedisStoreOptions> = {}) {
  return watch(rules, { url, ...options })
}

/** Checks every few ms for `ms`, as steady traffic would; every one must be answered. */
async function traffic(limiter: Limiter, ms: number): Promise<{ checks: number; degraded: number }> {
  const started = performance.now()
  let checks = 0
  let degraded = 0
  while (performance.now() - started < ms) {
    const decision = await limiter.check({ account: `a${checks % 20}` })
    checks++
    if (decision.degraded) degraded++
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  return { checks, degraded }
}

async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms
  while (performance.now() < deadline) {
    if (await condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

describeRedis('Redis refusing Diana: one outage, one report, the real cause', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterEach(async () => {
    if ((await redis.cli('PING').catch(() => '')) !== 'PONG') await redis.restart()
    await redis.cli('CONFIG', 'SET', 'maxmemory', '0')
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('OOM under noeviction (PING still answers): one degraded event and one log line naming OOM, then one recovery', async () => {
    const { limiter, store, warnings, events } = limiterOn(redis.url)
    await store.ready()
    await redis.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
    await redis.cli('CONFIG', 'SET', 'maxmemory', '1')
    const during = await traffic(limiter, 2000)
    // Writes are refused, so (nearly) every check is decided locally, and none fails.
    expect(during.degraded).toBeGreaterThan(during.checks * 0.9)
    expect({ events, lines: warnings.length }).toEqual({ events: ['degraded'], lines: 1 })
    expect(warnings[0]).toMatch(/OOM/)
    await redis.cli('CONFIG', 'SET', 'maxmemory', '0')
    expect(await until(async () => !(await limiter.check({ account: 'back' })).degraded, 3000)).toBe(true)
    expect(events).toEqual(['degraded', 'recovered'])
    expect(warnings).toHaveLength(2)
  })

  it('an ACL user without scripting rights: one degraded event and one log line naming NOPERM', async () => {
    const user = `noscript${Math.random().toString(36).slice(2, 8)}`
    await redis.cli('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-@scripting')
    const { limiter, warnings, events } = limiterOn(`redis://${user}:pw@127.0.0.1:${redis.port}`)
    const during = await traffic(limiter, 2000)
    expect(during.degraded).toBe(during.checks)
    expect({ events, lines: warnings.length }).toEqual({ events: ['degraded'], lines: 1 })
    expect(warnings[0]).toMatch(/NOPERM/)
    // Scripting granted: the same outage ends, once.
    await redis.cli('ACL', 'SETUSER', user, '+@scripting')
    expect(await until(async () => !(await limiter.check({ account: 'back' })).degraded, 3000)).toBe(true)
    expect(events).toEqual(['degraded', 'recovered'])
  })

  it('a wrong password is reported as WRONGPASS, a missing one as NOAUTH, not as a timeout', async () => {
    const user = `locked${Math.random().toString(36).slice(2, 8)}`
    await redis.cli('ACL', 'SETUSER', user, 'on', '>right', '~*', '&*', '+@all')
    const wrong = limiterOn(`redis://${user}:wrong@127.0.0.1:${redis.port}`)
    await traffic(wrong.limiter, 300)
    expect(wrong.warnings).toHaveLength(1)
    expect(wrong.warnings[0]).toMatch(/WRONGPASS/)

    await redis.cli('CONFIG', 'SET', 'requirepass', 'secret')
    try {
      const missing = limiterOn(redis.url)
      await traffic(missing.limiter, 300)
      expect(missing.warnings).toHaveLength(1)
      expect(missing.warnings[0]).toMatch(/NOAUTH/)
    } finally {
      await redis.cli('-a', 'secret', '--no-auth-warning', 'CONFIG', 'SET', 'requirepass', '')
    }
  })

  it('a killed Redis is reported as connection refused, not as a stream that is not writeable', async () => {
    const { limiter, store, warnings } = limiterOn(redis.url)
    await store.ready()
    await redis.kill()
    await traffic(limiter, 300)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/ECONNREFUSED|connection refused|closed/i)
    expect(warnings[0]).not.toMatch(/writeable/)
  })

  it('the first checks after start are shared, not degraded, while Redis is healthy, also on a busy host', async () => {
    const degradedFirst: boolean[] = []
    for (let i = 0; i < 5; i++) {
      const { limiter, warnings, events } = limiterOn(redis.url)
      // A busy event loop right after start (module loading, JIT, other work) delays the
      // connection: the connection's time must not count against the first checks.
      const checks = [1, 2, 3].map(() => limiter.check({ account: 'first' }))
      setImmediate(() => {
        const busyUntil = performance.now() + 80
        while (performance.now() < busyUntil) {}
      })
      const decisions = await Promise.all(checks)
      degradedFirst.push(decisions.some((decision) => decision.degraded))
      expect(warnings).toEqual([])
      expect(events).toEqual([])
    }
    expect(degradedFirst).toEqual([false, false, false, false, false])
  })

  it('an outage that ends while no checks come in is still reported over: recovered fires, degraded clears', async () => {
    const { limiter, store, events } = limiterOn(redis.url, {
      heartbeatMs: 100,
      probeBackoff: { minMs: 50, maxMs: 200 },
    })
    await store.ready()
    await redis.kill()
    expect(
      await until(async () => {
        await limiter.check({ account: 'x' })
        return store.degraded
      }, 3000),
    ).toBe(true)
    expect(events).toEqual(['degraded'])
    await redis.restart()
    // No traffic from here on: only the store's own probes and heartbeats talk to Redis.
    expect(await until(() => events.length === 2, 5000)).toBe(true)
    expect(events).toEqual(['degraded', 'recovered'])
    expect(store.degraded).toBe(false)
  })
})
