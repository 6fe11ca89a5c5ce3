import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Limiter } from '../../../src/limiter'
import type { Rule } from '../../../src/rules/rule'
import { Batcher } from '../../../src/stores/redis/batcher'
import { describeRedis, type RedisProcess, startRedis } from '../../support/redis-server'
import { watchedRedisLimiters } from '../../support/watched-redis-limiter'

/**
 * A batcher of `maxSize` that records the batches it sends; `finish()` reports the oldest
 * unfinished call answered, as the store does when a reply comes.
 */
function recording(maxSize: number) {
  const sent: number[][] = []
  const open: (() => void)[] = []
  const batcher = new Batcher<number>(maxSize, (batch, done) => {
    sent.push(batch)
    open.push(done)
  })
  const finish = () => (open.shift() as () => void)()
  return { batcher, sent, finish }
}

const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve))

describe('Batcher', () => {
  it('sends an item that finds nothing in flight at once, alone', () => {
    const { batcher, sent } = recording(100)
    batcher.add(1)
    expect(sent).toEqual([[1]])
  })

  it('gathers what is added while a call is in flight and sends it, in order, on the next tick', async () => {
    const { batcher, sent } = recording(100)
    for (let i = 0; i < 5; i++) batcher.add(i)
    expect(sent).toEqual([[0]])
    await nextTick()
    expect(sent).toEqual([[0], [1, 2, 3, 4]])
  })

  it('takes in what promise reactions of the same tick add', async () => {
    const { batcher, sent } = recording(100)
    batcher.add(0)
    batcher.add(1)
    await Promise.resolve()
    batcher.add(2)
    await nextTick()
    expect(sent).toEqual([[0], [1, 2]])
  })

  it('sends a full batch at once: no batch is larger than maxSize', async () => {
    const { batcher, sent } = recording(3)
    for (let i = 0; i < 8; i++) batcher.add(i)
    expect(sent).toEqual([[0], [1, 2, 3], [4, 5, 6]])
    await nextTick()
    expect(sent).toEqual([[0], [1, 2, 3], [4, 5, 6], [7]])
  })

  it('sends at once again once every call is answered, and sends no empty batch', async () => {
    const { batcher, sent, finish } = recording(3)
    batcher.add(0)
    batcher.add(1)
    await nextTick()
    expect(batcher.inFlight).toBe(2)
    finish()
    // One call is still in flight: the next item waits for the tick's batch.
    batcher.add(2)
    expect(sent).toEqual([[0], [1]])
    await nextTick()
    finish()
    finish()
    expect(batcher.inFlight).toBe(0)
    batcher.add(3)
    await nextTick()
    await nextTick()
    expect(sent).toEqual([[0], [1], [2], [3]])
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
        // The heartbeat's script has the instances key alone; checks' keys are the rule's.
        if (!String(rest[0]).includes('instances')) {
          calls.push(numkeys)
          if (failNext && numkeys > 1) {
            failNext = false
            return Promise.reject(new Error('ERR injected failure'))
          }
        }
        return original(script, numkeys, ...rest)
      }
    }
    return { client, calls, failNextBatch: () => (failNext = true) }
  }

  /** Loads the script, so no batch takes a NOSCRIPT round trip; then forgets the calls. */
  async function warmUp(limiter: Limiter, calls: number[]): Promise<void> {
    expect((await limiter.check({ account: 'warm-up' })).allowed).toBe(true)
    calls.length = 0
  }

  it('a check with nothing in flight goes to Redis at once, alone: it waits for no batch', async () => {
    const { client, calls } = countingClient()
    const { limiter, store } = watch(rules, { client, denialCache: false })
    await store.ready()
    await warmUp(limiter, calls)
    const decision = limiter.check({ account: 'alone' })
    // Sent before the caller's code goes on, not on a later tick.
    expect(calls).toEqual([1])
    expect((await decision).allowed).toBe(true)
    expect((await limiter.check({ account: 'alone' })).allowed).toBe(true)
    expect(calls).toEqual([1, 1])
  })

  it('checks started while one is in flight take one round trip, at most batch.maxChecks at a time', async () => {
    const { client, calls } = countingClient()
    const { limiter, store } = watch(rules, { client, batch: { maxChecks: 4 }, denialCache: false })
    await store.ready()
    await warmUp(limiter, calls)
    const accounts = Array.from({ length: 11 }, (_, i) => `a${i}`)
    const decisions = await Promise.all(accounts.map((account) => limiter.check({ account })))
    expect(decisions.every((d) => d.allowed && !d.degraded)).toBe(true)
    expect(calls).toEqual([1, 4, 4, 2])
  })

  it('a failed call reaches every check in it: each gets the failure policy answer', async () => {
    const { client, calls, failNextBatch } = countingClient()
    const { limiter, store } = watch(rules, { client, onFailure: 'closed', denialCache: false })
    await store.ready()
    await warmUp(limiter, calls)
    failNextBatch()
    const accounts = Array.from({ length: 6 }, (_, i) => `b${i}`)
    const decisions = await Promise.all(accounts.map((account) => limiter.check({ account })))
    expect(calls).toEqual([1, 5])
    expect(decisions.map((d) => [d.allowed, d.degraded])).toEqual([
      [true, false],
      ...accounts.slice(1).map(() => [false, true]),
    ])
  })
})
