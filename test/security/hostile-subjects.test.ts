import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import { compileRules } from '../../src/rules/compile-rules'
import type { Rule } from '../../src/rules/rule'
import { MemoryStore } from '../../src/stores/memory-store'
import type { Subject } from '../../src/types'
import { createFakeClock } from '../support/fake-clock'
import { measureHeap } from '../support/heap'

const oncePerAccount: Rule = {
  name: 'once',
  dimension: 'account',
  algorithm: 'fixed-window',
  limit: 1,
  window: '1h',
}
const oncePerPair: Rule = {
  name: 'pair',
  dimension: ['account', 'device'],
  algorithm: 'fixed-window',
  limit: 1,
  window: '1h',
}

const big = (fill: string, last: string) => fill.repeat(10 * 1024 - 1) + last

/** Pairs of distinct values that a naive key scheme (raw, truncated or joined) would merge. */
const lookalikes: Array<[string, string]> = [
  [big('a', 'x'), big('a', 'y')], // 10 KB, differ only at the end: truncation would merge them
  ['é', 'e\u0301'], // same glyph, different code points
  ['用户', '用戶'],
  ['😀', '😁'],
  ['a{b}', 'a{c}'],
  ['a|b', 'a|c'],
  ['*', '**'],
  ['a:b', 'a:c'],
  ['', ' '],
  ['x'.repeat(128), 'x'.repeat(129)],
]

describe('hostile subject values', () => {
  it.each(lookalikes)('%# keeps lookalike values apart', async (first, second) => {
    const limiter = createLimiter({ rules: [oncePerAccount], clock: createFakeClock() })
    const a = await limiter.check({ account: first })
    expect((await limiter.check({ account: first })).allowed).toBe(a.rule === undefined)
    expect((await limiter.check({ account: second })).allowed).toBe(true)
  })

  it('separators cannot shift a composite key from one dimension into the other', async () => {
    const limiter = createLimiter({ rules: [oncePerPair], clock: createFakeClock() })
    const forged: Subject[] = [
      { account: 'a|b', device: 'c' },
      { account: 'a', device: 'b|c' },
      { account: 'a}|{b', device: 'c' },
      { account: 'a', device: '}|{b|c' },
    ]
    for (const subject of forged) expect((await limiter.check(subject)).allowed).toBe(true)
  })

  it("a value spelled like another value's hashed key part is still its own key", async () => {
    const compiled = compileRules([oncePerAccount])
    if (!compiled.ok) throw new Error('rule should compile')
    const rule = compiled.rules[0]!
    const hostile = big('z', 'z')
    const keyOfHostile = rule.subjectKey({ account: hostile })!
    const limiter = createLimiter({ rules: [oncePerAccount], clock: createFakeClock() })
    await limiter.check({ account: hostile })
    expect((await limiter.check({ account: keyOfHostile })).allowed).toBe(true)
    expect(rule.subjectKey({ account: keyOfHostile })).not.toBe(keyOfHostile)
  })

  it('key parts stay short whatever the value: at most 128 characters per dimension', () => {
    const compiled = compileRules([oncePerAccount, oncePerPair])
    if (!compiled.ok) throw new Error('rules should compile')
    const [single, pair] = compiled.rules
    for (const [value] of [...lookalikes, [big('\u{10ffff}', '!')], ['\u0000'.repeat(5000)]]) {
      expect(single!.subjectKey({ account: value })?.length ?? 0).toBeLessThanOrEqual(128)
      expect(pair!.subjectKey({ account: value, device: value })?.length ?? 0).toBeLessThanOrEqual(
        2 * 128 + 1,
      )
    }
  })

  it('20,000 distinct 10 KB values keep the store bounded in keys and heap', async () => {
    const clock = createFakeClock()
    const store = new MemoryStore({ type: 'memory', maxKeys: 1000 }, clock)
    const limiter = createLimiter({ rules: [oncePerAccount], store, clock })
    const prefix = 'h'.repeat(10 * 1024)
    const growth = await measureHeap(async () => {
      for (let i = 0; i < 20_000; i++) await limiter.check({ account: `${prefix}${i}` })
    })
    expect(store.size).toBe(1000)
    // Raw 10 KB keys would hold about 10 MB for 1000 entries; hashed ones need well under 1 MB.
    if (growth !== undefined) expect(growth).toBeLessThan(4 * 1024 * 1024)
  })
})
