/**
 * The fake clock Redis suites drive the scripts with is reachable from tests only: it is not a
 * store option a production configuration could set, and the package does not export it.
 */
import { describe, expect, it } from 'vitest'
import * as diana from '../../../src/index'
import type { RedisStoreOptions } from '../../../src/stores/redis/options'
import { RedisStore } from '../../../src/stores/redis/redis-store'

describe('the Redis test clock', () => {
  it('is not a store option: clockForTests is refused by name', () => {
    const options = { type: 'redis', clockForTests: () => 0 } as unknown as RedisStoreOptions
    expect(() => new RedisStore(options, Date.now)).toThrow('store: unknown option "clockForTests"')
    expect(() => diana.createLimiter({ rules: [], store: options })).toThrow('unknown option "clockForTests"')
  })

  it('is not exported by the package', () => {
    expect(Object.keys(diana)).not.toContain('withTestClock')
  })
})
