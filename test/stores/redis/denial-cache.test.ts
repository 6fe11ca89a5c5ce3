import { describe, expect, it } from 'vitest'
import type { RuleVerdict } from '../../../src/algorithm'
import { DenialCache } from '../../../src/stores/redis/denial-cache'

const denied = (retryAfterMs: number, resetMs = retryAfterMs): RuleVerdict => ({
  allowed: false,
  remaining: 0,
  resetMs,
  retryAfterMs,
  delayMs: 0,
})
const allowed: RuleVerdict = { allowed: true, remaining: 3, resetMs: 500, retryAfterMs: 0, delayMs: 0 }

/** Redis's denial of `keys` (cost 1) at time `at`, learned by a fresh cache of `maxKeys`. */
function cacheWith(keys: string[], verdicts: RuleVerdict[], at = 1_000, maxKeys = 100): DenialCache {
  const cache = new DenialCache(maxKeys)
  cache.learn(keys, 1, verdicts, false, false, at)
  return cache
}

describe('DenialCache', () => {
  it('answers a denied check until its retry time, with the waits shrunk by the time passed', () => {
    const cache = cacheWith(['k'], [denied(300, 800)])
    expect(cache.lookup(['k'], 1, 1_000)).toEqual([denied(300, 800)])
    expect(cache.lookup(['k'], 1, 1_120)).toEqual([denied(180, 680)])
    expect(cache.lookup(['k'], 1, 1_299)).toEqual([denied(1, 501)])
    // At the retry time the check may pass: it goes to Redis again.
    expect(cache.lookup(['k'], 1, 1_300)).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('holds until the first denying rule frees up, and passes allowing rules through unchanged', () => {
    const cache = cacheWith(['a', 'b', 'c'], [denied(900), allowed, denied(200)])
    expect(cache.lookup(['a', 'b', 'c'], 1, 1_100)).toEqual([denied(800), allowed, denied(100)])
    expect(cache.lookup(['a', 'b', 'c'], 1, 1_200)).toBeUndefined()
  })

  it('is per check: other keys, another cost or another order of keys are not answered', () => {
    const cache = cacheWith(['a', 'b'], [denied(500), denied(500)])
    expect(cache.lookup(['a'], 1, 1_000)).toBeUndefined()
    expect(cache.lookup(['a', 'b'], 2, 1_000)).toBeUndefined()
    expect(cache.lookup(['b', 'a'], 1, 1_000)).toBeUndefined()
    expect(cache.lookup(['a', 'b'], 1, 1_000)).toBeDefined()
  })

  it('forgets a denial once any of its keys is reset, refunded or written by an admitted check', () => {
    const cache = cacheWith(['a', 'b'], [denied(500), denied(500)])
    cache.forget(['b'])
    expect(cache.lookup(['a', 'b'], 1, 1_000)).toBeUndefined()

    const admittedElsewhere = cacheWith(['a', 'b'], [denied(500), denied(500)])
    admittedElsewhere.learn(['a', 'z'], 1, [allowed, allowed], true, false, 1_010)
    expect(admittedElsewhere.lookup(['a', 'b'], 1, 1_020)).toBeUndefined()

    const untouched = cacheWith(['a', 'b'], [denied(500), denied(500)])
    untouched.forget(['c'])
    expect(untouched.lookup(['a', 'b'], 1, 1_000)).toBeDefined()
  })

  it('keeps no answer it could not give exactly: cost above 1, shadow rules, or no finite wait', () => {
    const cache = new DenialCache(100)
    cache.learn(['big'], 2, [denied(500)], false, false, 0)
    cache.learn(['shadowed'], 1, [denied(500)], false, true, 0)
    cache.learn(['never'], 1, [denied(Number.POSITIVE_INFINITY)], false, false, 0)
    expect(cache.lookup(['big'], 2, 1)).toBeUndefined()
    expect(cache.lookup(['shadowed'], 1, 1)).toBeUndefined()
    expect(cache.size).toBe(1)
    // A check that can never pass is asked again after at most a minute, as rules may change.
    expect(cache.lookup(['never'], 1, 59_999)?.[0]?.allowed).toBe(false)
    expect(cache.lookup(['never'], 1, 60_000)).toBeUndefined()
  })

  it('answers nothing for a local clock that went back before the answer came', () => {
    const cache = cacheWith(['k'], [denied(500)])
    expect(cache.lookup(['k'], 1, 999)).toBeUndefined()
  })

  it('is bounded: past maxKeys checks, the least recently used denial is dropped', () => {
    const cache = new DenialCache(3)
    for (const key of ['a', 'b', 'c']) cache.learn([key], 1, [denied(500)], false, false, 0)
    expect(cache.lookup(['a'], 1, 10)).toBeDefined()
    cache.learn(['d'], 1, [denied(500)], false, false, 0)
    expect(cache.size).toBe(3)
    expect(cache.lookup(['b'], 1, 10)).toBeUndefined()
    for (const key of ['a', 'c', 'd']) expect(cache.lookup([key], 1, 10)).toBeDefined()
  })

  it('bounds the keys it watches too: past 8 × maxKeys it starts afresh, dropping every answer', () => {
    const cache = new DenialCache(2)
    cache.learn(['watched'], 1, [denied(500)], false, false, 0)
    // Each learned denial watches its keys; 16 distinct keys fill the watch list.
    for (let i = 0; i < 15; i++) cache.learn([`w${i}`], 1, [denied(500)], false, false, 0)
    expect(cache.lookup(['w14'], 1, 1)).toBeDefined()
    cache.learn(['one-more'], 1, [denied(500)], false, false, 0)
    expect(cache.lookup(['w14'], 1, 1)).toBeUndefined()
    expect(cache.lookup(['one-more'], 1, 1)).toBeDefined()
  })
})
