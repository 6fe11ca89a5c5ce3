/**
 * What users notice when Redis fails: no check throws or hangs, decisions turn `degraded`
 * and follow `onFailure`, transitions are reported once, and shared limiting is back within
 * 2 s of Redis answering again. Real redis-server processes, stopped and killed for real.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import type { Decision } from '../../../src/decision'
import type { Rule } from '../../../src/rules/rule'
import type { RedisStoreOptions } from '../../../src/stores/redis/options'
import { describeRedis, type RedisProcess, startRedis } from '../../support/redis-server'
import { watchedRedisLimiters } from '../../support/watched-redis-limiter'

const TIMEOUT_MS = 50
// Slack for a 2-core CI machine shared with other suites; the bound is still far below a hang.
const MARGIN_MS = 150

let redis: RedisProcess
const watch = watchedRedisLimiters()

function limiterOn(rules: Rule[], options: Partial<RedisStoreOptions> = {}) {
  return watch(rules, {
    url: redis.url,
    commandTimeoutMs: TIMEOUT_MS,
    probeBackoff: { minMs: 20, maxMs: 400 },
    ...options,
  })
}

async function timed(check: () => Promise<Decision>): Promise<{ ms: number; decision: Decision }> {
  const started = performance.now()
  const decision = await check()
  return { ms: performance.now() - started, decision }
}

/** Checks until one is shared again; returns how long that took. */
async function msUntilShared(check: () => Promise<Decision>): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < 5000) {
    if (!(await check()).degraded) return performance.now() - started
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return Number.POSITIVE_INFINITY
}

const rule = (name: string, limit: number, extra: Partial<Rule> = {}): Rule => ({
  name,
  dimension: 'account',
  algorithm: 'fixed-window',
  limit,
  window: '30d',
  ...extra,
})

describeRedis('Redis store under failure', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterEach(async () => {
    redis.resume()
    if ((await redis.cli('PING').catch(() => '')) !== 'PONG') await redis.restart()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('a hung Redis (SIGSTOP): no check takes longer than the timeout, none throws, recovery within 2 s', async () => {
    const { limiter, store, warnings, events } = limiterOn([rule('hung', 1000)])
    await store.ready()
    expect((await limiter.check({ account: 'a' })).degraded).toBe(false)
    redis.pause()
    const sequential: number[] = []
    for (let i = 0; i < 10; i++) {
      const { ms, decision } = await timed(() => limiter.check({ account: 'a' }))
      sequential.push(ms)
      expect(decision.allowed).toBe(true)
    }
    const concurrent = await Promise.all(
      Array.from({ length: 200 }, (_, i) => timed(() => limiter.check({ account: `c${i % 7}` }))),
    )
    const worst = Math.max(...sequential, ...concurrent.map((c) => c.ms))
    expect(worst).toBeLessThan(TIMEOUT_MS + MARGIN_MS)
    // Once the breaker is open, checks do not even wait for the timeout.
    expect(concurrent.every((c) => c.decision.degraded)).toBe(true)
    expect(events).toEqual(['degraded'])
    expect(warnings).toHaveLength(1)
    redis.resume()
    expect(await msUntilShared(() => limiter.check({ account: 'a' }))).toBeLessThan(2000)
    expect(events).toEqual(['degraded', 'recovered'])
    expect(warnings).toHaveLength(2)
  })

  it('a killed Redis (refused) degrades at once; a restarted, empty one (NOSCRIPT) is shared again within 2 s', async () => {
    const { limiter, store, events } = limiterOn([rule('killed', 5)])
    await store.ready()
    expect(await limiter.check({ account: 'k' })).toMatchObject({
      allowed: true,
      remaining: 4,
      degraded: false,
    })
    await redis.kill()
    for (let i = 0; i < 5; i++) {
      const down = await timed(() => limiter.check({ account: 'k' }))
      expect(down.decision.degraded).toBe(true)
      expect(down.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS)
    }
    await redis.start()
    expect(await msUntilShared(() => limiter.check({ account: 'fresh' }))).toBeLessThan(2000)
    expect(events).toEqual(['degraded', 'recovered'])
    // The restarted server lost its data and its scripts: counting starts over in Redis.
    expect(await limiter.check({ account: 'k' })).toMatchObject({ remaining: 4, degraded: false })
  })

  it('SCRIPT FLUSH is recovered from in the same check (EVALSHA, NOSCRIPT, EVAL)', async () => {
    const { limiter, store, events } = limiterOn([rule('flush', 5)])
    await store.ready()
    expect(await limiter.check({ account: 'f' })).toMatchObject({ remaining: 4, degraded: false })
    await redis.cli('SCRIPT', 'FLUSH')
    expect(await limiter.check({ account: 'f' })).toMatchObject({ remaining: 3, degraded: false })
    expect(events).toEqual([])
  })

  it('fallback: each instance gets the limit divided by the live instances, or the rule fallbackLimit', async () => {
    const rules = [rule('shared', 10), rule('explicit', 100, { fallbackLimit: 3, dimension: 'device' })]
    // Two instances announcing themselves in one namespace.
    const shared = limiterOn(rules, { heartbeatMs: 50, keyPrefix: 'fallback-fleet' })
    const other = limiterOn(rules, { heartbeatMs: 50, keyPrefix: 'fallback-fleet' })
    await Promise.all([shared.store.ready(), other.store.ready()])
    const deadline = Date.now() + 3000
    while (shared.store.instances < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(shared.store.instances).toBe(2)
    await redis.kill()
    let allowed = 0
    for (let i = 0; i < 12; i++) if ((await shared.limiter.check({ account: 'x' })).allowed) allowed++
    expect(allowed).toBe(5)
    const last = await shared.limiter.check({ account: 'x' })
    expect(last).toMatchObject({ allowed: false, degraded: true, remaining: 0 })
    let explicit = 0
    for (let i = 0; i < 6; i++) if ((await shared.limiter.check({ device: 'd' })).allowed) explicit++
    expect(explicit).toBe(3)
  })

  it('onFailure open allows and closed denies, both marked degraded', async () => {
    const opened = limiterOn([rule('open', 1)], { onFailure: 'open' })
    const closed = limiterOn([rule('closed', 1)], { onFailure: 'closed' })
    await Promise.all([opened.store.ready(), closed.store.ready()])
    await redis.kill()
    for (let i = 0; i < 3; i++) {
      expect(await opened.limiter.check({ account: 'o' })).toMatchObject({ allowed: true, degraded: true })
      expect(await closed.limiter.check({ account: 'o' })).toMatchObject({ allowed: false, degraded: true })
    }
  })

  it('a known denial is answered locally, without Redis, until it frees up', async () => {
    const { limiter, store } = limiterOn([rule('cached', 2)])
    await store.ready()
    await limiter.check({ account: 'd' })
    await limiter.check({ account: 'd' })
    const denied = await limiter.check({ account: 'd' })
    expect(denied).toMatchObject({ allowed: false, degraded: false })
    redis.pause()
    // Redis hangs, yet the denial is answered at once and exactly, not degraded.
    const cached = await timed(() => limiter.check({ account: 'd' }))
    expect(cached.decision).toMatchObject({ allowed: false, degraded: false, rule: 'cached', remaining: 0 })
    expect(cached.ms).toBeLessThan(TIMEOUT_MS)
    redis.resume()
  })

  it('keys carry a hash tag per rule and subject, expire with their state, and hostile subjects stay inside the tag', async () => {
    const prefix = `layout${Math.random().toString(36).slice(2, 8)}`
    const { limiter, store } = limiterOn(
      [rule('tagged', 5, { window: '1m' }), rule('bucket', 5, { algorithm: 'token-bucket', window: '1m' })],
      { keyPrefix: prefix },
    )
    await store.ready()
    await limiter.check({ account: 'alice' })
    await limiter.check({ account: 'evil}{x' })
    const keys = (await redis.cli('--scan', '--pattern', `${prefix}:{*`))
      .split('\n')
      .filter((key) => key !== '' && key !== `${prefix}:{instances}`)
    expect(keys).toHaveLength(4)
    for (const key of keys) {
      expect(key).toMatch(new RegExp(`^${prefix}:\\{(tagged|bucket)\\|[^{}]*\\}:[A-Za-z0-9_-]{10}$`))
      const ttl = Number(await redis.cli('PTTL', key))
      // Fixed window: until the window ends; token bucket: until full again (1 token = 12 s).
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(60_000)
    }
    expect(keys.some((key) => key.includes('alice'))).toBe(true)
  })
})
