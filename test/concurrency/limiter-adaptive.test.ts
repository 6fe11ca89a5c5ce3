import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import { algorithmNames } from '../../src/registry'
import type { Rule } from '../../src/rules/rule'
import { RuleError } from '../../src/rules/rule-issue'
import { createFakeClock } from '../support/fake-clock'

const adaptive: Rule = {
  name: 'overload',
  dimension: 'global',
  algorithm: 'adaptive-concurrency',
  limit: 4,
  minLimit: 4,
}
const perAccount: Rule = {
  name: 'quota',
  dimension: 'account',
  algorithm: 'fixed-window',
  limit: 1,
  window: '1h',
}

function setup(rules: Rule[]) {
  const clock = createFakeClock()
  return { clock, limiter: createLimiter({ rules, clock }) }
}

describe('an adaptive-concurrency rule in the limiter', () => {
  it('admits up to its limit in flight and again once a request is released', async () => {
    const { limiter } = setup([adaptive])
    const held = []
    for (let i = 0; i < 4; i++) held.push(await limiter.check({ priority: 'critical' }))
    expect(held.every((decision) => decision.allowed)).toBe(true)
    const denied = await limiter.check({ priority: 'critical' })
    expect(denied).toMatchObject({ allowed: false, rule: 'overload', remaining: 0 })
    expect(denied.retryAfterMs).toBeGreaterThan(0)
    held[0]?.release?.()
    held[0]?.release?.() // idempotent: one release frees one place
    expect((await limiter.check({ priority: 'critical' })).allowed).toBe(true)
    expect((await limiter.check({ priority: 'critical' })).allowed).toBe(false)
  })

  it('sheds sheddable requests before critical ones, and an unknown priority counts as normal', async () => {
    const { limiter } = setup([adaptive])
    // Limit 4: sheddable may fill half (2), normal 80 % (3), critical all of it.
    expect((await limiter.check({ priority: 'sheddable' })).allowed).toBe(true)
    expect((await limiter.check({ priority: 'sheddable' })).allowed).toBe(true)
    expect((await limiter.check({ priority: 'sheddable' })).allowed).toBe(false)
    expect((await limiter.check({ priority: 'urgent!!' as 'normal' })).allowed).toBe(true)
    expect((await limiter.check({ priority: 'urgent!!' as 'normal' })).allowed).toBe(false)
    expect((await limiter.check({ priority: 'critical' })).allowed).toBe(true)
  })

  it('charges the store nothing for a request it turns away, and frees its place when the store denies', async () => {
    const { limiter } = setup([adaptive, perAccount])
    const first = await limiter.check({ account: 'a', priority: 'critical' })
    expect(first.allowed).toBe(true)
    // The quota of account a is spent: the store denies, and the adaptive place is handed back.
    for (let i = 0; i < 10; i++) {
      expect(await limiter.check({ account: 'a', priority: 'critical' })).toMatchObject({
        allowed: false,
        rule: 'quota',
      })
    }
    const others = []
    for (let i = 0; i < 3; i++) others.push(await limiter.check({ account: `b${i}`, priority: 'critical' }))
    expect(others.every((decision) => decision.allowed)).toBe(true)
    // Now all 4 places are held: c is turned away by the adaptive rule and keeps its quota.
    expect(await limiter.check({ account: 'c', priority: 'critical' })).toMatchObject({
      rule: 'overload',
      allowed: false,
    })
    for (const decision of [first, ...others]) decision.release?.()
    expect((await limiter.check({ account: 'c', priority: 'critical' })).allowed).toBe(true)
  })

  it("does not read a leaky bucket's shaping wait as the service's latency", async () => {
    // 20 requests at once, shaped to one per 100 ms: the last waits 1.9 s before it starts, and
    // then the service answers each in 10 ms. The service is fast; only the shaping is slow.
    const shaping: Rule = {
      name: 'shape',
      dimension: 'global',
      algorithm: 'leaky-bucket',
      limit: 10,
      window: '1s',
      burst: 100,
    }
    const { clock, limiter } = setup([{ ...adaptive, limit: 100, minLimit: 1 }, shaping])
    const admittedPerRound: number[] = []
    for (let round = 0; round < 30; round++) {
      const start = clock.now()
      const decisions = []
      for (let i = 0; i < 20; i++) decisions.push(await limiter.check({ priority: 'critical' }))
      const admitted = decisions.filter((decision) => decision.allowed)
      admittedPerRound.push(admitted.length)
      admitted.sort((a, b) => a.delayMs - b.delayMs)
      for (const decision of admitted) {
        clock.set(Math.max(clock.now(), start + decision.delayMs + 10))
        decision.release?.()
      }
      clock.set(start + 5_000) // the bucket drains between rounds
    }
    // The service keeps up, so the limit grows past 20 and every request gets in. Taking the wait
    // for latency, the limit was held at 9 to 19 of the 20.
    expect(admittedPerRound.slice(10)).toEqual(new Array(20).fill(20))
  })

  it("reports the limit of a rule named like an Object method as that rule's own", async () => {
    // Beside an adaptive rule, the binding rule's name is looked up among the adaptive shares:
    // a rule called toString must not find Object.prototype's.
    const { limiter } = setup([adaptive, { ...perAccount, name: 'toString' }])
    const decision = await limiter.check({ account: 'a', priority: 'critical' })
    expect(decision).toMatchObject({ allowed: true, rule: 'toString', limit: 1 })
  })

  it('reclaims a permit never released once its window has passed', async () => {
    const { clock, limiter } = setup([{ ...adaptive, window: '10s' }])
    for (let i = 0; i < 4; i++) await limiter.check({ priority: 'critical' })
    expect((await limiter.check({ priority: 'critical' })).allowed).toBe(false)
    clock.advance(9_999)
    expect((await limiter.check({ priority: 'critical' })).allowed).toBe(false)
    clock.advance(1)
    expect((await limiter.check({ priority: 'critical' })).allowed).toBe(true)
  })

  it('has release() only on decisions of checks that applied a permit rule', async () => {
    const { limiter } = setup([perAccount, { ...adaptive, match: { path: '/buy' } }])
    expect((await limiter.check({ account: 'x', resource: '/browse' })).release).toBeUndefined()
    const decision = await limiter.check({ account: 'y', resource: '/buy' })
    expect(decision.release).toBeTypeOf('function')
  })

  it('peek, reset and refund leave adaptive rules to the limiter', async () => {
    const { limiter } = setup([adaptive, perAccount])
    const held = await limiter.check({ account: 'a' })
    expect((await limiter.peek({ account: 'a' })).allowed).toBe(false)
    await limiter.refund({ account: 'a' })
    await limiter.reset({ account: 'a' })
    expect((await limiter.peek({ account: 'a' })).allowed).toBe(true)
    held.release?.()
  })

  it('keeps what a rule learned across setRules while the rule stays the same', async () => {
    const { limiter } = setup([adaptive])
    const held = await limiter.check({ priority: 'critical' })
    limiter.setRules([adaptive, perAccount])
    for (let i = 0; i < 3; i++) expect((await limiter.check({ priority: 'critical' })).allowed).toBe(true)
    expect((await limiter.check({ priority: 'critical' })).allowed).toBe(false)
    held.release?.()
  })

  it('is validated like any rule: minLimit only for it, window optional only for it', () => {
    expect(() => createLimiter({ rules: [{ ...perAccount, minLimit: 2 }] })).toThrow(
      /quota.*minLimit: is not valid for fixed-window; only adaptive-concurrency takes a minLimit/,
    )
    expect(() => createLimiter({ rules: [{ ...adaptive, minLimit: 5 }] })).toThrow(
      /minLimit: must not be above limit/,
    )
    const { window: _, ...noWindow } = perAccount
    expect(() => createLimiter({ rules: [noWindow] })).toThrow(RuleError)
    expect(() => createLimiter({ rules: [{ ...adaptive, algorithm: 'adaptive-concurency' }] })).toThrow(
      /did you mean "adaptive-concurrency"/,
    )
  })
})

describe.skipIf(!algorithmNames().includes('concurrency'))(
  'a concurrency rule released through the decision',
  () => {
    it('gives the permit back to the store on release', async () => {
      const { limiter } = setup([
        { name: 'slots', dimension: 'account', algorithm: 'concurrency', limit: 1, window: '1m' },
      ])
      const first = await limiter.check({ account: 'a' })
      expect(first.allowed).toBe(true)
      expect((await limiter.check({ account: 'a' })).allowed).toBe(false)
      first.release?.()
      first.release?.()
      await new Promise((resolve) => setImmediate(resolve))
      const second = await limiter.check({ account: 'a' })
      expect(second.allowed).toBe(true)
      expect((await limiter.check({ account: 'a' })).allowed).toBe(false)
    })
  },
)

describe('diana validate on an adaptive rule', () => {
  it('summarizes it as places in flight, not a rate', async () => {
    const { summarize } = await import('../../src/config/validate-command')
    expect(summarize(adaptive)).toBe('overload: adaptive-concurrency per global, 4-4 in flight')
    expect(summarize({ ...adaptive, minLimit: 2, limit: 50, window: '30s' })).toBe(
      'overload: adaptive-concurrency per global, 2-50 in flight, reclaimed after 30s',
    )
  })
})

describe('an adaptive rule in diana.yaml', () => {
  it('needs no window, and a misplaced minLimit is reported at its line', async () => {
    const { parseConfig } = await import('../../src/config/parse-config')
    const good = parseConfig(
      'version: 1\nrules:\n  - { name: capacity, dimension: global, algorithm: adaptive-concurrency, limit: 100, minLimit: 5 }\n',
      'diana.yaml',
    )
    expect(good.ok).toBe(true)
    const bad = parseConfig(
      'version: 1\nrules:\n  - name: quota\n    dimension: account\n    algorithm: fixed-window\n    limit: 10\n    window: 1m\n    minLimit: 5\n',
      'diana.yaml',
    )
    expect(bad.ok).toBe(false)
    if (bad.ok) return
    expect(bad.error.issues).toEqual([
      expect.objectContaining({
        line: 8,
        path: ['rules', 0, 'minLimit'],
        message: expect.stringMatching(/is not valid for fixed-window/),
      }),
    ])
  })
})
