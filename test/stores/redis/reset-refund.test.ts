/**
 * Reset, refund and blockFor where Redis itself shows: the denial cache must not answer a
 * denial that a reset or refund made stale, a block lives beside its state key (same slot)
 * with its own expiry, and during an outage reset and refund act on the local fallback and
 * resolve within the command timeout instead of rejecting or hanging.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import type { Rule } from '../../../src/rules/rule'
import { describeRedis, type RedisProcess, startRedis } from '../../support/redis-server'
import { watchedRedisLimiters } from '../../support/watched-redis-limiter'

const TIMEOUT_MS = 50
const MARGIN_MS = 150

let redis: RedisProcess
const watch = watchedRedisLimiters()

const rule = (name: string, extra: Partial<Rule> = {}): Rule => ({
  name,
  dimension: 'account',
  algorithm: 'fixed-window',
  limit: 2,
  window: '30d',
  ...extra,
})

describeRedis('Redis store: reset, refund and blockFor', () => {
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

  it('a denial held by the denial cache does not outlive a reset or a refund', async () => {
    const { limiter, store } = watch([rule('cached')], { url: redis.url, commandTimeoutMs: 5000 })
    await store.ready()
    for (let i = 0; i < 2; i++) await limiter.check({ account: 'a' })
    expect((await limiter.check({ account: 'a' })).allowed).toBe(false)
    // Deleting the state behind the store's back shows the cache answering: still denied.
    const keys = (await redis.cli('--scan', '--pattern', '*{cached|a}*')).split('\n').filter(Boolean)
    expect(keys).toHaveLength(1)
    await redis.cli('DEL', keys[0] as string)
    expect((await limiter.check({ account: 'a' })).allowed).toBe(false)
    await limiter.reset({ account: 'a' })
    expect(await limiter.check({ account: 'a' })).toMatchObject({ allowed: true, remaining: 1 })
    await limiter.check({ account: 'a' })
    expect((await limiter.check({ account: 'a' })).allowed).toBe(false)
    await limiter.refund({ account: 'a' })
    expect(await limiter.check({ account: 'a' })).toMatchObject({ allowed: true, remaining: 0 })
  })

  it('blockFor: the block key sits beside the state key, expires with the block, and a reset deletes both', async () => {
    const { limiter, store } = watch([rule('blocked', { limit: 1, window: '1h', blockFor: '10m' })], {
      url: redis.url,
      commandTimeoutMs: 5000,
    })
    await store.ready()
    await limiter.check({ account: 'b' })
    const denied = await limiter.check({ account: 'b' })
    expect(denied.allowed).toBe(false)
    expect(denied.retryAfterMs).toBeGreaterThan(599_000)
    const keys = (await redis.cli('--scan', '--pattern', '*{blocked|b}*')).split('\n').filter(Boolean).sort()
    expect(keys).toHaveLength(2)
    const [state, block] = keys as [string, string]
    expect(block).toBe(`${state}:b`)
    const ttl = Number(await redis.cli('PTTL', block))
    expect(ttl).toBeGreaterThan(590_000)
    expect(ttl).toBeLessThanOrEqual(600_000)
    // One hash tag, so one Cluster slot: the script may touch both.
    expect(block.match(/\{[^}]*\}/)?.[0]).toBe('{blocked|b}')
    await limiter.reset({ account: 'b' })
    expect(await redis.cli('EXISTS', state, block)).toBe('0')
    expect((await limiter.check({ account: 'b' })).allowed).toBe(true)
  })

  it('during an outage, reset and refund resolve within the timeout and act on the local fallback', async () => {
    const { limiter, store } = watch([rule('outage', { limit: 4 })], {
      url: redis.url,
      commandTimeoutMs: TIMEOUT_MS,
      probeBackoff: { minMs: 20, maxMs: 400 },
    })
    await store.ready()
    redis.pause()
    // Use up the local share while Redis hangs.
    for (let i = 0; i < 10; i++) await limiter.check({ account: 'o' })
    expect(await limiter.check({ account: 'o' })).toMatchObject({ allowed: false, degraded: true })
    for (const act of [() => limiter.refund({ account: 'o' }), () => limiter.reset({ account: 'o' })]) {
      const started = performance.now()
      await expect(act()).resolves.toBeUndefined()
      expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + MARGIN_MS)
    }
    expect(await limiter.check({ account: 'o' })).toMatchObject({ allowed: true, degraded: true })
    // Even a hung first call: one that has to wait out the timeout resolves too.
    const fresh = watch([rule('outage2')], { url: redis.url, commandTimeoutMs: TIMEOUT_MS })
    const started = performance.now()
    await Promise.all([fresh.limiter.reset({ account: 'x' }), fresh.limiter.refund({ account: 'x' })])
    expect(performance.now() - started).toBeLessThan(1000 + TIMEOUT_MS + MARGIN_MS)
  })
})
