import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import { compileRules } from '../../src/rules/compile-rules'
import type { Rule } from '../../src/rules/rule'
import { MemoryStore } from '../../src/stores/memory-store'
import { fakeClock } from '../config/config-helpers'
import { describeStore } from '../conformance/store'

describeStore('memory', (clock) => new MemoryStore({ type: 'memory' }, clock))

describe('MemoryStore: rules removed from the rule set', () => {
  it('a removed rule’s table is released once its grace period is over, with no further rule change', async () => {
    const clock = fakeClock()
    const store = new MemoryStore({}, clock.now)
    const rules: Rule[] = [
      { name: 'account', dimension: 'account', algorithm: 'fixed-window', limit: 1000, window: '1h' },
      { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: 1000, window: '1h' },
    ]
    const limiter = createLimiter({ store, clock: clock.now, rules })
    for (let i = 0; i < 50; i++) await limiter.check({ account: 'a', device: `d${i}` })
    expect(store.size).toBe(51)
    limiter.setRules(rules.slice(0, 1))
    // Set aside for the grace period, in case the rule comes back.
    expect({ size: store.size, retired: store.retiredSize }).toEqual({ size: 1, retired: 50 })
    clock.advance(5_000)
    await limiter.check({ account: 'a' })
    expect(store.retiredSize).toBe(50)
    // Past the grace period: the next check lets it go, although the rules did not change again.
    clock.advance(6_000)
    await limiter.check({ account: 'a' })
    expect({ size: store.size, retired: store.retiredSize }).toEqual({ size: 1, retired: 0 })
    await limiter.close()
  })
})

describe('MemoryStore.charge', () => {
  it('takes the cost from each rule on its own, skips the rules not marked allowed, and leaves a rule that would deny as it is', async () => {
    const clock = fakeClock()
    const compiled = compileRules([
      { name: 'small', dimension: 'account', algorithm: 'fixed-window', limit: 2, window: '1h' },
      { name: 'large', dimension: 'account', algorithm: 'fixed-window', limit: 10, window: '1h' },
      { name: 'skipped', dimension: 'account', algorithm: 'fixed-window', limit: 10, window: '1h' },
    ])
    if (!compiled.ok) throw new Error('rules did not compile')
    const rules = Object.freeze(compiled.rules)
    const store = new MemoryStore({}, clock.now)
    const keys = ['a', 'a', 'a']
    const only = [{ allowed: true }, { allowed: true }, { allowed: false }]
    // Three units: the small rule holds two of them, the large one all three.
    for (let i = 0; i < 3; i++) store.charge(rules, keys, 1, only)
    const { verdicts } = store.evaluate({ rules, subjectKeys: keys, cost: 0 })
    expect(verdicts.map((v) => v.remaining)).toEqual([0, 7, 10])
  })
})
