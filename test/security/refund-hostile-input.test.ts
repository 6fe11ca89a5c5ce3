/**
 * `refund`, `reset` and `peek` take their cost and rule name from the application, which may
 * take them from a request (a token count a client reports, a rule name in a query string).
 * Whatever arrives, no limit can be raised above what the rule allows, no other subject's state
 * is touched, and a bad value is a rejected promise with a short TypeError naming the option:
 * never a synchronous throw into the caller's handler, never a partial change.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createLimiter, type Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { createFakeClock } from '../support/fake-clock'

const rules: Rule[] = [
  { name: 'fixed', dimension: 'account', algorithm: 'fixed-window', limit: 5, window: '1m' },
  { name: 'sliding', dimension: 'account', algorithm: 'sliding-window', limit: 6, window: '1m' },
  { name: 'token', dimension: 'account', algorithm: 'token-bucket', limit: 7, window: '1m' },
  { name: 'leaky', dimension: 'account', algorithm: 'leaky-bucket', limit: 8, window: '1m', burst: 8 },
]

const limiters: Limiter[] = []
afterEach(async () => {
  await Promise.all(limiters.splice(0).map((limiter) => limiter.close()))
})

function limiter(): Limiter {
  const made = createLimiter({ rules, clock: createFakeClock() })
  limiters.push(made)
  return made
}

/** How many unit checks in a row the account passes right now (the tightest rule allows 5). */
async function admitted(on: Limiter, account: string): Promise<number> {
  let n = 0
  while (n < 100 && (await on.check({ account })).allowed) n++
  return n
}

describe('refund with hostile input', () => {
  it.each([1e308, Number.MAX_VALUE, 2 ** 53 + 1, 1e15])(
    'a huge refund (%d) fills every rule up to its limit, never past it',
    async (cost) => {
      const on = limiter()
      for (let i = 0; i < 3; i++) await on.check({ account: 'a' })
      await on.refund({ account: 'a' }, { cost })
      // Nothing beyond the limit: the first check after the refund reports limit - 1 left.
      const decision = await on.peek({ account: 'a' })
      expect(decision).toMatchObject({ allowed: true, rule: 'fixed', remaining: 4 })
      expect(await admitted(on, 'a')).toBe(5)
    },
  )

  it('refunding a subject never seen, or another subject, gives nobody more', async () => {
    const on = limiter()
    await on.refund({ account: 'stranger' }, { cost: 1e9 })
    for (let i = 0; i < 5; i++) await on.check({ account: 'victim' })
    await on.refund({ account: 'victim2' }, { cost: 1e9 })
    expect((await on.check({ account: 'victim' })).allowed).toBe(false)
    expect(await admitted(on, 'stranger')).toBe(5)
  })

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '5', null, {}, 10n])(
    'cost %s is a rejected TypeError naming cost, and changes nothing',
    async (cost) => {
      const on = limiter()
      for (let i = 0; i < 5; i++) await on.check({ account: 'a' })
      let result: Promise<void> | undefined
      expect(() => {
        result = on.refund({ account: 'a' }, { cost: cost as number })
      }).not.toThrow()
      await expect(result).rejects.toThrow(TypeError)
      await expect(result).rejects.toThrow(/cost/)
      expect((await on.check({ account: 'a' })).allowed).toBe(false)
    },
  )

  it.each([['__proto__'], ['constructor'], ['toString'], ['fixed '], ['x'.repeat(100_000)]])(
    'rule name %s from input is a rejected TypeError with a short message, and changes nothing',
    async (name) => {
      const on = limiter()
      for (let i = 0; i < 5; i++) await on.check({ account: 'a' })
      for (const act of [
        () => on.refund({ account: 'a' }, { cost: 5, rule: name }),
        () => on.reset({ account: 'a' }, { rule: name }),
      ]) {
        const error = await act().then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(TypeError)
        expect((error as Error).message).toMatch(/rule/)
        expect((error as Error).message.length).toBeLessThan(300)
      }
      expect((await on.check({ account: 'a' })).allowed).toBe(false)
    },
  )

  it('a misspelt option is rejected instead of resetting or refunding every rule', async () => {
    const on = limiter()
    for (let i = 0; i < 5; i++) await on.check({ account: 'a' })
    await expect(on.reset({ account: 'a' }, { rules: 'fixed' } as never)).rejects.toThrow(
      /unknown option "rules"; did you mean "rule"\?/,
    )
    await expect(on.refund({ account: 'a' }, { costs: 5 } as never)).rejects.toThrow(/did you mean "cost"/)
    await expect(on.peek({ account: 'a' }, { rule: 'fixed' } as never)).rejects.toThrow(TypeError)
    expect((await on.check({ account: 'a' })).allowed).toBe(false)
  })

  it('a subject that is not an object is rejected, not thrown', async () => {
    const on = limiter()
    for (const subject of [null, undefined, 'a', 42]) {
      await expect(on.refund(subject as never)).rejects.toThrow(TypeError)
      await expect(on.reset(subject as never)).rejects.toThrow(TypeError)
      await expect(on.peek(subject as never)).rejects.toThrow(TypeError)
    }
  })

  it('a refund of a registered algorithm without refund names the rule, before anything changes', async () => {
    const { registerAlgorithm } = await import('../../src/registry')
    const name = `no-refund-${Math.random().toString(36).slice(2, 8)}`
    registerAlgorithm(name, {
      stateSize: 1,
      acceptsBurst: false,
      step: (state, { cost }, { limit }) => {
        const used = state?.[0] ?? 0
        const allowed = used + cost <= limit
        const next = allowed ? used + cost : used
        return {
          state: [next],
          decision: {
            allowed,
            remaining: limit - next,
            resetMs: 0,
            retryAfterMs: allowed ? 0 : 1,
            delayMs: 0,
          },
        }
      },
    })
    const on = createLimiter({
      rules: [
        { name: 'fixed', dimension: 'account', algorithm: 'fixed-window', limit: 5, window: '1m' },
        { name: 'custom', dimension: 'account', algorithm: name, limit: 5, window: '1m' },
      ],
    })
    limiters.push(on)
    for (let i = 0; i < 5; i++) await on.check({ account: 'a' })
    await expect(on.refund({ account: 'a' })).rejects.toThrow(
      /rule "custom": algorithm .* has no Algorithm.refund/,
    )
    // Not even the rule that could have refunded got anything back.
    expect((await on.check({ account: 'a' })).allowed).toBe(false)
    // One that can, named, still works; reset works for any algorithm.
    await on.refund({ account: 'a' }, { rule: 'fixed' })
    await on.reset({ account: 'a' }, { rule: 'custom' })
    expect((await on.check({ account: 'a' })).allowed).toBe(true)
  })
})
