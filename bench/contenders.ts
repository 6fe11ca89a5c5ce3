import { createLimiter, type LimiterOptions } from '../src/limiter'
import type { Contender } from './contender'
import { importOptional, interop } from './optional-module'
import type { StoreName } from './options'
import { BENCH_LIMIT, BENCH_WINDOW_S, benchRules } from './quota'

/** The thrown-away failure when the Redis store is not part of this build yet. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}

export interface ScenarioSetup {
  algorithm: string
  store: StoreName
  redisUrl: string
  keys: number
  rules: number
}

export async function dianaContender(setup: ScenarioSetup): Promise<Contender> {
  const rules = benchRules(setup.algorithm, setup.rules)
  let store: LimiterOptions['store']
  if (setup.store === 'memory') {
    // Room for every key of the scenario: the benchmark measures decisions, not eviction.
    store = { type: 'memory', maxKeys: Math.max(100_000, setup.keys * setup.rules) }
  } else {
    // Typed loosely so this compiles before and after the Redis store joins `StoreOptions`.
    store = { type: 'redis', url: setup.redisUrl } as unknown as LimiterOptions['store']
  }
  let limiter: ReturnType<typeof createLimiter>
  try {
    limiter = createLimiter({ rules, store })
  } catch (error) {
    if (setup.store === 'redis' && error instanceof TypeError && /store\.type/.test(error.message)) {
      throw new StoreUnavailableError('the Redis store is not available yet in this build of diana-limiter')
    }
    throw error
  }
  if (setup.store === 'redis') {
    // A store that cannot reach Redis answers from its local fallback; timing that would
    // report the memory store under Redis's name.
    const decision = await limiter.check({ account: 'diana-bench-probe' })
    if (decision.degraded) {
      await limiter.close()
      throw new Error(`could not reach Redis at ${setup.redisUrl} (decisions came from the local fallback)`)
    }
  }
  return {
    name: 'diana',
    check: (key) => limiter.check({ account: key }),
    degraded: (answer) => (answer as { degraded?: boolean } | undefined)?.degraded === true,
    dispose: () => limiter.close(),
  }
}

interface FlexibleLimiter {
  consume(key: string): Promise<unknown>
  delete?(key: string): Promise<unknown>
}
interface FlexibleModule {
  RateLimiterMemory: new (options: Record<string, unknown>) => FlexibleLimiter
  RateLimiterRedis: new (options: Record<string, unknown>) => FlexibleLimiter
  RateLimiterUnion: new (...limiters: FlexibleLimiter[]) => FlexibleLimiter
}
interface RedisClient {
  quit(): Promise<unknown>
  disconnect(): void
  ping(): Promise<unknown>
}

export const PEER_NAME = 'rate-limiter-flexible'

/**
 * rate-limiter-flexible set up as the same quota: `points` per `duration`, one limiter per
 * rule (joined with its own RateLimiterUnion when there are several). It has one strategy, a
 * counter that expires after the duration, whatever Diana algorithm it is compared with.
 */
export async function peerContender(setup: ScenarioSetup, runId: string): Promise<Contender> {
  const flexible = interop(
    await importOptional<FlexibleModule | { default: FlexibleModule }>(PEER_NAME, '--compare'),
  )
  let client: RedisClient | undefined
  if (setup.store === 'redis') {
    const Redis = interop(
      await importOptional<
        | (new (
            url: string,
            options: Record<string, unknown>,
          ) => RedisClient)
        | { default: new (url: string, options: Record<string, unknown>) => RedisClient }
      >('ioredis', '--compare --store redis'),
    )
    client = new Redis(setup.redisUrl, {
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      enableOfflineQueue: true,
    })
    try {
      await client.ping()
    } catch (error) {
      client.disconnect()
      throw new Error(`could not reach Redis at ${setup.redisUrl}: ${(error as Error).message}`)
    }
  }
  const limiters = Array.from({ length: setup.rules }, (_, i) => {
    // In Redis the prefix keeps each run's keys apart; in memory a long prefix would only make
    // the peer hash longer keys, so it gets a short one, as a typical user would write.
    const keyPrefix = client ? `diana-bench-${runId}-${i}` : `rl${i}`
    const options = { points: BENCH_LIMIT, duration: BENCH_WINDOW_S, keyPrefix }
    return client
      ? new flexible.RateLimiterRedis({ ...options, storeClient: client })
      : new flexible.RateLimiterMemory(options)
  })
  const limiter =
    limiters.length === 1 ? (limiters[0] as FlexibleLimiter) : new flexible.RateLimiterUnion(...limiters)
  return {
    name: PEER_NAME,
    check: (key) => limiter.consume(key),
    dispose: async (keys) => {
      if (client) {
        await client.quit()
        return
      }
      // In memory every key holds a timer for the whole duration.
      for (const one of limiters) for (const key of keys) await one.delete?.(key)
    },
  }
}
