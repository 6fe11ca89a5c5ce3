import type { Clock } from '../../clock'
import type { RedisStoreOptions } from './options'

/**
 * Clocks that test suites give Redis stores, by the options object the store was built from.
 * Not an option and not exported by the package: a production store always uses the Redis
 * server's `TIME`, since instances with different clocks would disagree.
 */
const testClocks = new WeakMap<RedisStoreOptions, Clock>()

/**
 * TEST ONLY. The store built from `options` runs its scripts on `clock` instead of the Redis
 * server's `TIME`, and keeps keys for at least a day, so a suite can drive Redis with a fake
 * clock. Returns `options`.
 */
export function withTestClock<Options extends RedisStoreOptions>(options: Options, clock: Clock): Options {
  testClocks.set(options, clock)
  return options
}

/** The clock {@link withTestClock} gave these options, if any. */
export function testClockOf(options: RedisStoreOptions): Clock | undefined {
  return testClocks.get(options)
}
