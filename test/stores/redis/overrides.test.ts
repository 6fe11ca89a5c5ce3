/**
 * Overrides in Redis: an overridden value's parameters travel to the script as its rule's
 * argument and its counters sit under a key of their own, on single Redis and on a Cluster
 * (where a check's rules are reserved slot by slot).
 */
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createLimiter, type Limiter } from '../../../src/limiter'
import type { Rule } from '../../../src/rules/rule'
import { RedisStore } from '../../../src/stores/redis/redis-store'
import {
  describeRedis,
  type RedisCluster,
  type RedisProcess,
  startCluster,
  startRedis,
} from '../../support/redis-server'

let redis: RedisProcess
let cluster: RedisCluster
let clusterClient: Cluster

// Windows of 30 days: no window ends during a test, whatever Redis's clock says.
const global: Rule = {
  name: 'all',
  dimension: 'global',
  algorithm: 'fixed-window',
  limit: 10_000,
  window: '30d',
}
const account = (overrides: Rule['overrides']): Rule => ({
  name: 'account',
  dimension: 'account',
  algorithm: 'fixed-window',
  limit: 2,
  window: '30d',
  overrides,
})
const vipOverrides: Rule['overrides'] = [
  { values: ['vip-1', 'vip-2'], limit: 5 },
  { values: ['svc-*'], limit: 3, window: '60d' },
  { values: ['internal'], unlimited: true },
]

async function admitted(limiter: Limiter, subject: { account: string }, max = 20): Promise<number> {
  for (let i = 0; i < max; i++) {
    const decision = await limiter.check(subject)
    expect(decision.degraded).toBe(false)
    if (!decision.allowed) return i
  }
  return max
}

describeRedis('overrides in Redis', () => {
  beforeAll(async () => {
    ;[redis, cluster] = await Promise.all([startRedis(), startCluster(3)])
    clusterClient = new Cluster(cluster.seeds)
    await new Promise((resolve) => clusterClient.once('ready', resolve))
  })
  afterAll(async () => {
    clusterClient?.disconnect()
    await Promise.all([redis?.stop(), cluster?.stop()])
  })

  const kinds = [
    [
      'single Redis',
      () => new RedisStore({ type: 'redis', url: redis.url, keyPrefix: prefix(), logger: false }, Date.now),
    ],
    [
      'Redis Cluster',
      () =>
        new RedisStore(
          { type: 'redis', client: clusterClient, keyPrefix: prefix(), logger: false },
          Date.now,
        ),
    ],
  ] as const

  for (const [kind, makeStore] of kinds) {
    for (const rules of [[account(vipOverrides)], [global, account(vipOverrides)]]) {
      it(`${kind}, ${rules.length} rule(s): a listed value gets its own limit, others the base, unlimited is never denied`, async () => {
        const store = makeStore()
        const limiter = createLimiter({ rules, store })
        await store.ready()
        expect(await limiter.check({ account: 'vip-1' })).toMatchObject({
          rule: 'account',
          limit: 5,
          remaining: 4,
        })
        expect(await admitted(limiter, { account: 'vip-1' })).toBe(4)
        expect(await admitted(limiter, { account: 'vip-2' })).toBe(5)
        expect(await admitted(limiter, { account: 'svc-a' })).toBe(3)
        expect(await admitted(limiter, { account: 'svc-b' })).toBe(3)
        expect(await admitted(limiter, { account: 'bob' })).toBe(2)
        for (let i = 0; i < 30; i++) {
          const decision = await limiter.check({ account: 'internal' })
          expect(decision).toMatchObject({ allowed: true, degraded: false })
          expect(decision.rule).not.toBe('account')
        }
        const svc = await limiter.check({ account: 'svc-c' })
        expect(limiter.windowOf('account', svc)).toBe(60 * 86_400_000)
        await limiter.close()
      })
    }

    it(`${kind}: a value moved between overrides keeps its counters only if its definition is unchanged`, async () => {
      const store = makeStore()
      const limiter = createLimiter({ rules: [global, account(vipOverrides)], store })
      await store.ready()
      for (const name of ['vip-1', 'vip-2', 'svc-a', 'bob']) await limiter.check({ account: name })
      limiter.setRules([
        global,
        account([
          { values: ['vip-1'], limit: 5 }, // unchanged definition
          { values: ['vip-2'], limit: 7 }, // changed: fresh counters
          { values: ['svc-a'], limit: 5 }, // moved to vip-1's definition: its own fresh key
        ]),
      ])
      expect(await limiter.check({ account: 'vip-1' })).toMatchObject({ limit: 5, remaining: 3 })
      expect(await limiter.check({ account: 'vip-2' })).toMatchObject({ limit: 7, remaining: 6 })
      expect(await limiter.check({ account: 'svc-a' })).toMatchObject({ limit: 5, remaining: 4 })
      expect(await limiter.check({ account: 'bob' })).toMatchObject({ limit: 2, remaining: 0 })
      await limiter.close()
    })
  }
})

function prefix(): string {
  return `ov${Math.random().toString(36).slice(2, 10)}`
}
