import { createLimiter, type LimiterOptions } from '../src/limiter'
import type { Rule } from '../src/rules/rule'
import { importOptional, interop } from './optional-module'
import type { StoreName } from './options'

/** Something that decides requests for a key; the benchmark drives every contender alike. */
export interface Contender {
  readonly name: string
  check(key: string): Promise<unknown>
  /** Whether a check's answer came from a local fallback instead of the store under test. */
  degraded?(answer: unknown): boolean
  /** Drops the keys' state where it would otherwise linger (timers) into the next scenario. */
  forget?(keys: readonly string[]): Promise<void>
  close(): Promise<void>
}

/**
 * Far above any request count in a run, so nearly every check is allowed and the figure is
 * the cost of a decision (a denied check costs rate-limiter-flexible a thrown rejection).
 */
export const BENCH_LIMIT = 1_000_000_000
export const BENCH_WINDOW_S = 60

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

/** `count` rules on one dimension (`account` by default), so every one applies to every check. */
export function benchRules(algorithm: string, count: number, dimension = 'account'): Rule[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `bench-${i + 1}`,
    dimension,
    algorithm,
    limit: BENCH_LIMIT,
    window: BENCH_WINDOW_S * 1000,
    // A shaper with no queue denies a second request in the same millisecond; give it room,
    // so that leaky bucket too measures allowed decisions.
    ...(algorithm === 'leaky-bucket' ? { burst: BENCH_LIMIT / 100 } : {}),
  }))
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
    close: () => limiter.close(),
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
    // In memory every key holds a timer for the whole duration; left alone, one scenario's
    // records would weigh on the next scenario's garbage collections.
    forget: client
      ? undefined
      : async (keys) => {
          for (const one of limiters) for (const key of keys) await one.delete?.(key)
        },
    close: async () => {
      await client?.quit()
    },
  }
}
