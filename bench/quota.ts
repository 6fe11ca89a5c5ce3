import type { Rule } from '../src/rules/rule'

/**
 * The quota every contender is set up with, far above any request count in a run, so nearly
 * every check is allowed and the figure is the cost of a decision (a denied check costs
 * rate-limiter-flexible a thrown rejection).
 */
export const BENCH_LIMIT = 1_000_000_000
export const BENCH_WINDOW_S = 60

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
