/**
 * While Redis is away each instance limits locally with a share of every rule. An override's
 * share follows its own limit, so a VIP keeps its advantage during an outage.
 */
import { describe, expect, it } from 'vitest'
import { compileRules } from '../../../src/rules/compile-rules'
import type { CompiledRule } from '../../../src/rules/compiled-rule'
import { ruleFor, withVariants } from '../../../src/rules/overrides'
import type { Rule } from '../../../src/rules/rule'
import { LocalFallback } from '../../../src/stores/redis/local-fallback'
import { createFakeClock } from '../../support/fake-clock'

function compiled(rule: Rule): CompiledRule {
  const result = compileRules([rule])
  if (!result.ok) throw new Error(JSON.stringify(result.issues))
  return result.rules[0] as CompiledRule
}

/** Admitted checks of `account` under `rule` before the first local denial. */
function admitted(fallback: LocalFallback, rule: CompiledRule, account: string): number {
  const counting = ruleFor(rule, { account }) as CompiledRule
  for (let i = 0; i < 10_000; i++) {
    const { verdicts } = fallback.evaluate({ rules: [counting], subjectKeys: [account], cost: 1 })
    if (!verdicts[0]?.allowed) return i
  }
  return 10_000
}

const base: Rule = {
  name: 'account',
  dimension: 'account',
  algorithm: 'fixed-window',
  limit: 100,
  window: '30d',
  overrides: [{ values: ['vip'], limit: 1000 }],
}

describe('the local fallback and overrides', () => {
  it("shares an override's own limit among the live instances", () => {
    const fallback = new LocalFallback(createFakeClock(), 1000)
    fallback.instances = 4
    const rule = compiled(base)
    expect(admitted(fallback, rule, 'vip')).toBe(250)
    expect(admitted(fallback, rule, 'bob')).toBe(25)
  })

  it("scales the rule's fallbackLimit by the override's limit over the rule's", () => {
    const fallback = new LocalFallback(createFakeClock(), 1000)
    fallback.instances = 4
    const rule = compiled({ ...base, fallbackLimit: 50 })
    expect(admitted(fallback, rule, 'vip')).toBe(500)
    expect(admitted(fallback, rule, 'bob')).toBe(50)
  })

  it('keeps the local counters of an unchanged override across a rule change', () => {
    const fallback = new LocalFallback(createFakeClock(), 1000)
    const rule = compiled(base)
    expect(admitted(fallback, rule, 'vip')).toBe(1000)
    const again = compiled({
      ...base,
      overrides: [{ values: ['other'], limit: 5 }, ...(base.overrides ?? [])],
    })
    fallback.retain(withVariants([again]))
    expect(admitted(fallback, again, 'vip')).toBe(0)
  })
})
