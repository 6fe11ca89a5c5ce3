import { afterAll, beforeAll, describe } from 'vitest'
import { MemorySaleState } from '../../examples/flash-sale/storage/memory/memory-sale-state'
import { RedisSaleState } from '../../examples/flash-sale/storage/redis/redis-sale-state'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'
import { saleStateSuite } from './sale-state-suite'

describe('flash sale state in memory', () => {
  saleStateSuite(() => new MemorySaleState(), { shared: false })
})

let redis: RedisProcess | undefined

describeRedis('flash sale state in Redis', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })
  // Generous command timeout: correctness is under test, not latency on a busy machine.
  saleStateSuite((saleId) => new RedisSaleState({ url: redis!.url, saleId, commandTimeoutMs: 10_000 }), {
    shared: true,
  })
})
