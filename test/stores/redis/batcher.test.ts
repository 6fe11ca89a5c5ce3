import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Limiter } from '../../../src/limiter'
import type { Rule } from '../../../src/rules/rule'
import { Batcher } from '../../../src/stores/redis/batcher'
import { describeRedis, type RedisProcess, startRedis } from '../../support/redis-server'
import { watchedRedisLimiters } from '../../support/watched-redis-limiter'

/** A batcher of `maxSize` that records the batches it sends. */
function recording(maxSize: number) {
  const sent: number[][] = []
  const batcher = new Batcher<number>(maxSize, (batch) => sent.push(batch))
  return { batcher, sent }
}

const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve))

describe('Batcher', () => {
  it('sends what was added in one tick as one batch, in order, on the next tick', async () => {
    const { batcher, sent } = recording(100)
    for (let i = 0; i < 5; i++) batcher.add(i)
    expect(sent).toEqual([])
    await nextTick()
    expect(sent).toEqual([[0, 1, 2, 3, 4]])
  })

  it('takes in what promise reactions of the same tick add', async () => {
    const { batcher, sent } = recording(100)
    batcher.add(1)
    await Promise.resolve()
    batcher.add(2)
    await nextTick()
    expect(sent).toEqual([[1, 2]])
  })

  it('sends a full batch at once: no batch is larger than maxSize', async () => {
    const { batcher, sent } = recording(3)
    for (let i = 0; i < 7; i++) batcher.add(i)
    expect(sent).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ])
    await nextTick()
    expect(sent).toEqual([[0, 1, 2], [3, 4, 5], [6]])
  })

  it('starts a new batch for a later tick, and sends no empty one', async () => {
    const { batcher, sent } = recording(3)
    for (let i = 0; i < 3; i++) batcher.add(i)
    await nextTick()
    batcher.add(9)
    await nextTick()
    await nextTick()
    expect(sent).toEqual([[0, 1, 2], [9]])
  })
})

describeRedis('the Redis store batches checks', () => {
  let redis: RedisProcess
  const watch = watchedRedisLimiters()
  const clients: Redis[] = []
  const rules: Rule[] = [
    { name: 'r', dimension: 'account', algorithm: 'fixed-window', limit: 100, window: '1h' },
  ]

  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    for (const client of clients) client.disconnect()
    await redis?.stop()
  })

  /**
   * A client that reports how many keys each EVALSHA/EVAL carries (one per check of one rule);
   * `failNext` makes the next script call with more than one key fail.
   */
  function countingClient() {
    const client = new Redis(redis.url, { lazyConnect: true })
    clients.push(client)
    const calls: number[] = []
    let failNext = false
    for (const name of ['evalsha', 'eval'] as const) {
      const original = client[name].bind(client) as (...args: unknown[]) => Promise<unknown>
      ;(client as unknown as Record<string, unknown>)[name] = (
        script: string,
        numkeys: number,
        ...rest: unknown[]
      ) => {
        if (numkeys > 1) {
          calls.push(numkeys)
          if (failNext) {
            failNext = false
            return Promise.reject(new Error('ERR injected failure'))
          }
        }
        return original(script, numkeys, ...rest)
      }
    }
    return { client, calls, failNextBatch: () => (failNext = true) }
  }

  /** Loads the script (one check, one key: not counted), so no batch takes a NOSCRIPT round trip. */
  async function warmUp(limiter: Limiter): Promise<void> {
    expect((await limiter.check({ account: 'warm-up' })).allowed).toBe(true)
  }

  it('checks started in one tick take one round trip, at most batch.maxChecks at a time', async () => {
    const { client, calls } = countingClient()
    const { limiter, store } = watch(rules, { client, batch: { maxChecks: 4 }, denialCache: false })
    await store.ready()
    await warmUp(limiter)
    const accounts = Array.from({ length: 10 }, (_, i) => `a${i}`)
    const decisions = await Promise.all(accounts.map((account) => limiter.check({ account })))
    expect(decisions.every((d) => d.allowed && !d.degraded)).toBe(true)
    expect(calls).toEqual([4, 4, 2])
  })

  it('a failed call reaches every check in it: each gets the failure policy answer', async () => {
    const { client, calls, failNextBatch } = countingClient()
    const { limiter, store } = watch(rules, { client, onFailure: 'closed', denialCache: false })
    await store.ready()
    await warmUp(limiter)
    failNextBatch()
    const accounts = Array.from({ length: 5 }, (_, i) => `b${i}`)
    const decisions = await Promise.all(accounts.map((account) => limiter.check({ account })))
    expect(calls).toEqual([5])
    expect(decisions.map((d) => [d.allowed, d.degraded])).toEqual(accounts.map(() => [false, true]))
  })
})
