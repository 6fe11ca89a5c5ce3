/**
 * House rule 2: the one store conformance suite, unchanged, against a single Redis and a
 * 3-master Redis Cluster, both started here. The store reads the suite's fake clock through
 * the test-only `withTestClock`, so every scenario sees the same time as the reference model.
 */
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import type { Clock } from '../../../src/clock'
import { RedisStore } from '../../../src/stores/redis/redis-store'
import { withTestClock } from '../../../src/stores/redis/test-clock'
import { describeStore } from '../../conformance/store'
import {
  describeRedis,
  type RedisCluster,
  type RedisProcess,
  startCluster,
  startRedis,
} from '../../support/redis-server'

let redis: RedisProcess | undefined
let cluster: RedisCluster | undefined
let single: Redis | undefined
let clustered: Cluster | undefined

async function storeOn(client: Redis | Cluster, clock: Clock): Promise<RedisStore> {
  const store = new RedisStore(
    // A fresh key prefix per store: the suite expects each store to start empty. A generous
    // timeout: correctness is under test here, not latency on a busy CI machine.
    withTestClock(
      {
        type: 'redis',
        client,
        keyPrefix: `conf${Math.random().toString(36).slice(2, 10)}`,
        commandTimeoutMs: 5000,
        logger: false,
      },
      clock,
    ),
    clock,
  )
  await store.ready()
  return store
}

describeRedis('Redis store conformance', () => {
  beforeAll(async () => {
    ;[redis, cluster] = await Promise.all([startRedis(), startCluster(3)])
    single = new Redis(redis.url)
    clustered = new Cluster(cluster.seeds)
    await Promise.all([
      new Promise((resolve) => single?.once('ready', resolve)),
      new Promise((resolve) => clustered?.once('ready', resolve)),
    ])
  })
  afterAll(async () => {
    single?.disconnect()
    clustered?.disconnect()
    await Promise.all([redis?.stop(), cluster?.stop()])
  })

  describeStore('single Redis', (clock) => storeOn(single as Redis, clock))
  describeStore('Redis Cluster (3 masters)', (clock) => storeOn(clustered as Cluster, clock))
})
