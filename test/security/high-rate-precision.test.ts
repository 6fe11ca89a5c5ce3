/**
 * Issue 11, item 6: decisions must be exact at every rate the schema accepts, also with
 * epoch-scale clocks, where `now · L` passes 2^53 long before L is large (at L = 5,300 today).
 * Each case runs the same requests through the limiter and through the BigInt reference model.
 */
import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { createFakeClock, DEFAULT_START_MS } from '../support/fake-clock'
import { type ModelRule, ReferenceLimiter } from '../support/reference-models'

async function runBoth(rule: ModelRule, perMs: number, ms: number, start = DEFAULT_START_MS + 123) {
  const clock = createFakeClock(start)
  const limiter = createLimiter({ rules: [rule as Rule], clock, store: { type: 'memory', maxKeys: 4 } })
  const model = new ReferenceLimiter([rule])
  let admitted = 0
  let expected = 0
  const mismatches: string[] = []
  for (let t = 0; t < ms; t++) {
    for (let i = 0; i < perMs; i++) {
      const decision = await limiter.check({})
      const reference = model.check({}, clock())
      if (decision.allowed) admitted++
      if (reference.allowed) expected++
      if (
        mismatches.length < 3 &&
        (decision.allowed !== reference.allowed || decision.remaining !== reference.remaining)
      ) {
        mismatches.push(`t=${t} i=${i}: ${JSON.stringify(decision)} vs ${JSON.stringify(reference)}`)
      }
    }
    clock.advance(1)
  }
  await limiter.close()
  return { admitted, expected, mismatches }
}

describe('exact decisions at high rates with epoch-scale clocks', () => {
  const policing100k: ModelRule = {
    name: 'lb',
    dimension: 'global',
    algorithm: 'leaky-bucket',
    limit: 100_000,
    window: 1000,
    burst: 1000,
    mode: 'police',
  }

  it('leaky bucket at 100,000 per second admits B + 1 at one instant, not more', async () => {
    const { admitted, expected, mismatches } = await runBoth(policing100k, 1200, 1)
    expect(expected).toBe(1001)
    expect(mismatches).toEqual([])
    expect(admitted).toBe(1001)
  })

  it('leaky bucket at 100,000 per second holds the rate over a busy second', async () => {
    // 300 attempts per ms for 1 s: three times the rate. At most L in the second plus B + 1.
    const { admitted, expected, mismatches } = await runBoth(policing100k, 300, 1000)
    expect(mismatches).toEqual([])
    expect(admitted).toBe(expected)
    expect(admitted).toBeLessThanOrEqual(100_000 + 1001)
  })

  const extremes: ModelRule[] = [
    {
      name: 'x',
      dimension: 'global',
      algorithm: 'leaky-bucket',
      limit: Number.MAX_SAFE_INTEGER,
      window: 1000,
      burst: 3,
    },
    { name: 'x', dimension: 'global', algorithm: 'leaky-bucket', limit: 1_000_000_000, window: 1, burst: 0 },
    {
      name: 'x',
      dimension: 'global',
      algorithm: 'leaky-bucket',
      limit: 7,
      window: 86_400_000 * 30,
      burst: 4,
    },
    {
      name: 'x',
      dimension: 'global',
      algorithm: 'leaky-bucket',
      limit: 999_983,
      window: 7919,
      burst: 17,
      mode: 'police',
    },
    {
      name: 'x',
      dimension: 'global',
      algorithm: 'token-bucket',
      limit: 1_000_000,
      window: 86_400_000,
      burst: 20,
    },
    { name: 'x', dimension: 'global', algorithm: 'token-bucket', limit: 999_983, window: 7919 },
    { name: 'x', dimension: 'global', algorithm: 'sliding-window', limit: 999_983, window: 7919 },
    {
      name: 'x',
      dimension: 'global',
      algorithm: 'fixed-window',
      limit: Number.MAX_SAFE_INTEGER,
      window: 1000,
    },
  ]
  for (const rule of extremes) {
    it(`${rule.algorithm} ${JSON.stringify({ limit: rule.limit, window: rule.window, burst: rule.burst })} decides like the exact model`, async () => {
      const { mismatches } = await runBoth(rule, 40, 50)
      expect(mismatches).toEqual([])
    })
  }
})
