/**
 * Redis Cluster: the keys of different rules live in different slots, so a check is reserved
 * on each slot and released on denial (see docs/redis.md). Under concurrent traffic no limit
 * is ever exceeded, and once traffic is over every counter holds at least what was admitted
 * and at most that plus the reservations of denied checks that raced with another write;
 * the permits of a `concurrency` rule, released by refund, hold exactly what was admitted.
 */
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createLimiter } from '../../../src/limiter'
import { RedisStore } from '../../../src/stores/redis/redis-store'
import { describeRedis, type RedisCluster, startCluster } from '../../support/redis-server'

let cluster: RedisCluster
let client: Cluster

describeRedis('Redis Cluster store', () => {
  beforeAll(async () => {
    cluster = await startCluster(3)
    client = new Cluster(cluster.seeds)
    await new Promise((resolve) => client.once('ready', resolve))
  })
  afterAll(async () => {
    client?.disconnect()
    await cluster?.stop()
  })

  it('rules of one check sit in different slots, each rule and subject in one slot', async () => {
    const prefix = `slots${Math.random().toString(36).slice(2, 8)}`
    const store = new RedisStore({ type: 'redis', client, keyPrefix: prefix, logger: false }, Date.now)
    const limiter = createLimiter({
      rules: [
        { name: 'global', dimension: 'global', algorithm: 'token-bucket', limit: 100, window: '1s' },
        { name: 'account', dimension: 'account', algorithm: 'fixed-window', limit: 10, window: '1m' },
      ],
      store,
    })
    await store.ready()
    expect(await limiter.check({ account: 'alice' })).toMatchObject({ allowed: true, degraded: false })
    const slots = await Promise.all(
      [`${prefix}:{global|}`, `${prefix}:{account|alice}`].map((tag) => client.cluster('KEYSLOT', tag)),
    )
    expect(new Set(slots).size).toBe(2)
    await limiter.close()
  })

  it('concurrent checks across slots never exceed a limit; denied checks are released', async () => {
    const prefix = `race${Math.random().toString(36).slice(2, 8)}`
    const store = new RedisStore(
      { type: 'redis', client, keyPrefix: prefix, logger: false, commandTimeoutMs: 2000, denialCache: false },
      Date.now,
    )
    const limiter = createLimiter({
      rules: [
        { name: 'global', dimension: 'global', algorithm: 'fixed-window', limit: 60, window: '30d' },
        { name: 'account', dimension: 'account', algorithm: 'fixed-window', limit: 4, window: '30d' },
      ],
      store,
    })
    await store.ready()
    const accounts = Array.from({ length: 25 }, (_, i) => `acct${i}`)
    const decisions = await Promise.all(
      Array.from({ length: 250 }, (_, i) => limiter.check({ account: accounts[i % accounts.length] })),
    )
    expect(decisions.some((d) => d.degraded)).toBe(false)
    const admitted = decisions.filter((d) => d.allowed).length
    const perAccount = new Map<string, number>()
    decisions.forEach((d, i) => {
      if (d.allowed)
        perAccount.set(accounts[i % 25] as string, (perAccount.get(accounts[i % 25] as string) ?? 0) + 1)
    })
    expect(admitted).toBeLessThanOrEqual(60)
    expect(Math.max(...perAccount.values())).toBeLessThanOrEqual(4)
    // Give fire-and-forget releases a moment to land, then read the global counter.
    await new Promise((resolve) => setTimeout(resolve, 200))
    const keys = await Promise.all(
      cluster.nodes.map((node) => node.cli('--scan', '--pattern', `${prefix}:{global|}*`)),
    )
    const key = keys.join('\n').split('\n').find(Boolean) as string
    const counted = Number(((await client.get(key)) ?? '0,0').split(',')[1])
    expect(counted).toBeGreaterThanOrEqual(admitted)
    expect(counted).toBeLessThanOrEqual(60)
    await limiter.close()
  })

  it('sequential traffic: a denial consumes nothing in the other slot', async () => {
    const store = new RedisStore(
      { type: 'redis', client, keyPrefix: `seq${Math.random().toString(36).slice(2, 8)}`, logger: false },
      Date.now,
    )
    const limiter = createLimiter({
      rules: [
        { name: 'global', dimension: 'global', algorithm: 'fixed-window', limit: 5, window: '30d' },
        { name: 'account', dimension: 'account', algorithm: 'fixed-window', limit: 1, window: '30d' },
      ],
      store,
    })
    await store.ready()
    expect((await limiter.check({ account: 'a' })).allowed).toBe(true)
    for (let i = 0; i < 10; i++) expect((await limiter.check({ account: 'a' })).allowed).toBe(false)
    // Ten denials reserved and released the global quota: 4 of 5 are left.
    expect(await limiter.check({ account: 'b' })).toMatchObject({ allowed: true, rule: 'account' })
    expect(await limiter.check({})).toMatchObject({ allowed: true, rule: 'global', remaining: 2 })
    await limiter.close()
  })

  it('concurrency: under concurrent traffic a check denied in another slot holds no permit once settled', async () => {
    const prefix = `permits${Math.random().toString(36).slice(2, 8)}`
    const store = new RedisStore(
      { type: 'redis', client, keyPrefix: prefix, logger: false, commandTimeoutMs: 2000 },
      Date.now,
    )
    const limiter = createLimiter({
      rules: [
        { name: 'cc', dimension: 'global', algorithm: 'concurrency', limit: 80, window: '1h' },
        { name: 'account', dimension: 'account', algorithm: 'fixed-window', limit: 4, window: '30d' },
      ],
      store,
    })
    await store.ready()
    const accounts = Array.from({ length: 15 }, (_, i) => `acct${i}`)
    // Denied checks' reservations race with other checks writing the permits key: a release
    // that only put back the state it replaced would leave their permits held.
    const decisions = await Promise.all(
      Array.from({ length: 250 }, (_, i) => limiter.check({ account: accounts[i % accounts.length] })),
    )
    expect(decisions.some((d) => d.degraded)).toBe(false)
    const admitted = decisions.filter((d) => d.allowed).length
    const keys = await Promise.all(
      cluster.nodes.map((node) => node.cli('--scan', '--pattern', `${prefix}:{cc|}*`)),
    )
    const key = keys.join('\n').split('\n').find(Boolean) as string
    const held = async () =>
      ((await client.get(key)) ?? '0')
        .split(',')
        .slice(1)
        .reduce((sum, n) => sum + Number(n), 0)
    // Releases are sent without waiting for them: they land within moments.
    let permits = await held()
    for (let i = 0; i < 50 && permits !== admitted; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      permits = await held()
    }
    expect(permits).toBe(admitted)
    await limiter.close()
  })
})
