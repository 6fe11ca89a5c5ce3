/**
 * The value an override is chosen by comes from the client (an account id from a token, a
 * device header, an address). Only the values an operator listed may pick an override: no
 * spelling, glob-looking string, key-safe digest or sheer length reaches another value's
 * override or its bucket, and no choice of values makes the limiter hold more than it may.
 */
import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import { MAX_GLOB_UNITS_PER_RULE_SET } from '../../src/rules/glob'
import { keyPart } from '../../src/rules/key-part'
import type { Rule } from '../../src/rules/rule'
import { MemoryStore } from '../../src/stores/memory-store'
import { createFakeClock } from '../support/fake-clock'

const longVip = `vip-${'x'.repeat(200)}` // long enough for its key to be a digest
const rule: Rule = {
  name: 'per-account',
  dimension: 'account',
  algorithm: 'fixed-window',
  limit: 1,
  window: '1h',
  overrides: [
    { values: ['vip', longVip], limit: 1000 },
    { values: ['svc-*'], limit: 500 },
    { values: ['internal'], unlimited: true },
  ],
}

describe('override values chosen by a client', () => {
  it.each([
    ['a glob standing for the listed value', '*'],
    ['the listed value with a glob tail', 'vip*'],
    ['a ? pattern', 'vi?'],
    ['another case', 'VIP'],
    ['surrounding space', ' vip'],
    ['a line break', 'vip\n'],
    ['a NUL', 'vip\u0000'],
    ['a prefix of a listed value', 'vi'],
    ['the key-safe digest of a listed long value', keyPart(longVip)],
    ['the unlimited value with a suffix', 'internal2'],
    ['a path that a glob would match across /', 'svc-a/b'],
  ])('%s gets the base limit', async (_case, account) => {
    const limiter = createLimiter({ rules: [rule], clock: createFakeClock() })
    expect(await limiter.check({ account })).toMatchObject({ limit: 1, remaining: 0 })
    expect((await limiter.check({ account })).allowed).toBe(false)
    await limiter.close()
  })

  it('a value longer than any listed one never matches a glob, and costs no more to check', async () => {
    const limiter = createLimiter({ rules: [rule], clock: createFakeClock() })
    const huge = `svc-${'a'.repeat(1_000_000)}`
    const started = performance.now()
    expect(await limiter.check({ account: huge })).toMatchObject({ limit: 1 })
    expect(performance.now() - started).toBeLessThan(200)
    await limiter.close()
  })

  it('a listed long value is matched as written, and keeps a bucket apart from its digest', async () => {
    const limiter = createLimiter({ rules: [rule], clock: createFakeClock() })
    expect(await limiter.check({ account: longVip })).toMatchObject({ limit: 1000, remaining: 999 })
    expect(await limiter.check({ account: keyPart(longVip) })).toMatchObject({ limit: 1, remaining: 0 })
    expect(await limiter.check({ account: longVip })).toMatchObject({ remaining: 998 })
    await limiter.close()
  })

  it('values that a glob override matches cannot grow memory past the bound per table', async () => {
    const clock = createFakeClock()
    const store = new MemoryStore({ maxKeys: 50 }, clock)
    const limiter = createLimiter({ rules: [rule], store, clock })
    for (let i = 0; i < 2000; i++) {
      await limiter.check({ account: `svc-${i}` })
      await limiter.check({ account: `user-${i}` })
      await limiter.check({ account: 'internal' })
    }
    // One table for the base rule, one for the glob override; the unlimited value has none.
    expect(store.size).toBe(100)
    await limiter.close()
  })

  it('glob values count towards the glob budget of the rule set; exact values do not', () => {
    const glob = (i: number) => `g${i}-*${'x'.repeat(250)}`
    const globs = Array.from({ length: MAX_GLOB_UNITS_PER_RULE_SET / 256 + 1 }, (_, i) => glob(i))
    const overrides = [
      { values: ['plain'], limit: 5 },
      { values: globs, limit: 5 },
    ]
    expect(() => createLimiter({ rules: [{ ...rule, overrides }] })).toThrow(
      `rules[0] "per-account": overrides[1].values: brings the globs of all rules to more than ${MAX_GLOB_UNITS_PER_RULE_SET} characters`,
    )
    const exact = Array.from({ length: 999 }, (_, i) => `e${i}-${'x'.repeat(250)}`)
    const limiter = createLimiter({ rules: [{ ...rule, overrides: [{ values: exact, limit: 5 }] }] })
    return limiter.close()
  })

  it('on a resource rule, a glob value with capitals counts twice: it also matches in lower case', () => {
    const half = MAX_GLOB_UNITS_PER_RULE_SET / 2
    const capitals = Array.from({ length: half / 256 }, (_, i) => `/A${i}/*`.padEnd(256, 'x'))
    const onResource = (values: string[]) => ({
      name: 'per-resource',
      dimension: 'resource',
      algorithm: 'fixed-window',
      limit: 1,
      window: '1h',
      overrides: [{ values, limit: 5 }],
    })
    expect(() => createLimiter({ rules: [onResource([...capitals, '/b/*'])] })).toThrow(
      'brings the globs of all rules to more than',
    )
    // The same values on an account rule are matched as written only, and fit.
    return createLimiter({
      rules: [{ ...rule, overrides: [{ values: [...capitals, 'b*'], limit: 5 }] }],
    }).close()
  })
})
