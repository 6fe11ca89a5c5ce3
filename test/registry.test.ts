import { describe, expect, it } from 'vitest'
import type { Algorithm } from '../src/algorithm'
import {
  createLimiter,
  RuleError,
  registerAlgorithm,
  registerDimension,
  type StepInto,
  stepFromStepInto,
} from '../src/index'
import { createFakeClock } from './support/fake-clock'

/**
 * Extension without modification: everything here goes through the public entry point only.
 * "lifetime-quota" never refills: L units per subject, ever (a trial allowance, say).
 */
const lifetimeQuota: Algorithm = {
  stateSize: 1,
  acceptsBurst: false,
  step(state, { cost }, { limit }) {
    const used = state?.[0] ?? 0
    const allowed = used + cost <= limit
    const after = allowed ? used + cost : used
    return {
      state: [after],
      decision: {
        allowed,
        remaining: limit - after,
        resetMs: Number.POSITIVE_INFINITY,
        retryAfterMs: allowed ? 0 : Number.POSITIVE_INFINITY,
        delayMs: 0,
      },
    }
  },
}

registerAlgorithm('lifetime-quota', lifetimeQuota)
registerDimension('tenant') // reads subject.tenant
registerDimension('plan', {
  valueFrom: (subject) => (typeof subject.plan === 'string' ? subject.plan.toLowerCase() : undefined),
})

describe('registerAlgorithm / registerDimension', () => {
  it('a registered algorithm and dimension work in rules, including a composite key', async () => {
    const limiter = createLimiter({
      rules: [
        {
          name: 'trial',
          dimension: ['tenant', 'account'],
          algorithm: 'lifetime-quota',
          limit: 2,
          window: '1d',
        },
        { name: 'tenant-rate', dimension: 'tenant', algorithm: 'fixed-window', limit: 100, window: '1s' },
      ],
      clock: createFakeClock(),
    })
    const alice = { tenant: 'acme', account: 'alice' }
    expect(await limiter.check(alice)).toMatchObject({ allowed: true, rule: 'trial', remaining: 1 })
    expect(await limiter.check(alice)).toMatchObject({ allowed: true, rule: 'trial', remaining: 0 })
    expect(await limiter.check(alice)).toMatchObject({
      allowed: false,
      rule: 'trial',
      retryAfterMs: Number.POSITIVE_INFINITY,
    })
    // Same account in another tenant, another account in the same tenant: their own quotas.
    expect(await limiter.check({ tenant: 'globex', account: 'alice' })).toMatchObject({
      allowed: true,
      remaining: 1,
    })
    expect(await limiter.check({ tenant: 'acme', account: 'bob' })).toMatchObject({
      allowed: true,
      remaining: 1,
    })
    // Without an account only the per-tenant rule applies; without a tenant, neither.
    expect((await limiter.check({ tenant: 'acme' })).rule).toBe('tenant-rate')
    expect((await limiter.check({ account: 'alice' })).rule).toBeUndefined()
  })

  it('a dimension with its own reader counts by what it reads', async () => {
    const limiter = createLimiter({
      rules: [{ name: 'per-plan', dimension: 'plan', algorithm: 'token-bucket', limit: 1, window: '1h' }],
      clock: createFakeClock(),
    })
    expect((await limiter.check({ plan: 'FREE' })).allowed).toBe(true)
    expect((await limiter.check({ plan: 'free' })).allowed).toBe(false)
    expect((await limiter.check({ plan: 'pro' })).allowed).toBe(true)
  })

  it('registered names join validation: hints and the list of known names', () => {
    expect(() =>
      createLimiter({
        rules: [{ name: 'x', dimension: 'tennant', algorithm: 'lifetime-quotas', limit: 1, window: '1s' }],
      }),
    ).toThrow(/unknown algorithm "lifetime-quotas"; did you mean "lifetime-quota"\?/)
    try {
      createLimiter({
        rules: [{ name: 'x', dimension: 'tennant', algorithm: 'fixed-window', limit: 1, window: '1s' }],
      })
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(RuleError)
      expect((error as Error).message).toMatch(
        /unknown dimension "tennant"; did you mean "tenant"\?.*known: .*tenant/,
      )
    }
    // burst follows the algorithm's own declaration.
    expect(() =>
      createLimiter({
        rules: [
          { name: 'x', dimension: 'tenant', algorithm: 'lifetime-quota', limit: 1, window: '1s', burst: 2 },
        ],
      }),
    ).toThrow(/burst: is not valid for lifetime-quota/)
  })

  it('cannot replace a built-in or an already registered name, nor take a malformed one', () => {
    expect(() => registerAlgorithm('token-bucket', lifetimeQuota)).toThrow(/already registered/)
    expect(() => registerAlgorithm('lifetime-quota', lifetimeQuota)).toThrow(/already registered/)
    expect(() => registerDimension('account')).toThrow(/already registered/)
    expect(() => registerDimension('Tenant Id')).toThrow(TypeError)
    expect(() => registerAlgorithm('broken', {} as Algorithm)).toThrow(TypeError)
    expect(() => registerDimension('broken', {} as never)).toThrow(TypeError)
  })

  it('existing rules keep working next to the registered ones', async () => {
    const limiter = createLimiter({
      rules: [{ name: 'classic', dimension: 'account', algorithm: 'sliding-window', limit: 1, window: '1m' }],
      clock: createFakeClock(),
    })
    expect((await limiter.check({ account: 'a', tenant: 't' })).allowed).toBe(true)
    expect((await limiter.check({ account: 'a', tenant: 't' })).allowed).toBe(false)
  })

  it("uses a strategy's stepInto when it has one, with the step derived from it", async () => {
    let intoCalls = 0
    const stepInto: StepInto = (state, _now, cost, { limit }, next, verdict) => {
      intoCalls++
      const used = state?.[0] ?? 0
      const allowed = used + cost <= limit
      next[0] = allowed ? used + cost : used
      verdict.allowed = allowed
      verdict.remaining = limit - (next[0] as number)
      verdict.resetMs = Number.POSITIVE_INFINITY
      verdict.retryAfterMs = allowed ? 0 : Number.POSITIVE_INFINITY
      verdict.delayMs = 0
    }
    registerAlgorithm('lifetime-quota-into', {
      stateSize: 1,
      acceptsBurst: false,
      stepInto,
      step: stepFromStepInto(stepInto, 1),
    })
    const limiter = createLimiter({
      rules: [
        { name: 'trial', dimension: 'account', algorithm: 'lifetime-quota-into', limit: 2, window: '1d' },
        { name: 'trial-plain', dimension: 'account', algorithm: 'lifetime-quota', limit: 3, window: '1d' },
      ],
    })
    const seen = []
    for (let i = 0; i < 4; i++) {
      const { allowed, rule, remaining } = await limiter.check({ account: 'ann' })
      seen.push([allowed, rule, remaining])
    }
    expect(seen).toEqual([
      [true, 'trial', 1],
      [true, 'trial', 0],
      [false, 'trial', 0],
      [false, 'trial', 0],
    ])
    expect(intoCalls).toBe(4)
    // The derived step gives the same verdict from the same state.
    expect(
      stepFromStepInto(stepInto, 1)(
        [1],
        { now: 0, cost: 1 },
        { limit: 2, windowMs: 1, burst: undefined, mode: undefined },
      ),
    ).toEqual({
      state: [2],
      decision: {
        allowed: true,
        remaining: 0,
        resetMs: Number.POSITIVE_INFINITY,
        retryAfterMs: 0,
        delayMs: 0,
      },
    })
    await limiter.close()
  })

  it('never writes into a state array a step returned: the store keeps its own copy', async () => {
    const shared = Object.freeze([1]) as unknown as number[]
    registerAlgorithm('always-one', {
      stateSize: 1,
      acceptsBurst: false,
      step: () => ({
        state: shared,
        decision: { allowed: true, remaining: 1, resetMs: 0, retryAfterMs: 0, delayMs: 0 },
      }),
    })
    const limiter = createLimiter({
      rules: [
        { name: 'one', dimension: 'account', algorithm: 'always-one', limit: 5, window: '1s' },
        { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: 5, window: '1s' },
      ],
    })
    // The second check updates the stored state in place; a frozen array would make that throw.
    for (let i = 0; i < 3; i++)
      expect((await limiter.check({ account: 'a', device: 'd' })).allowed).toBe(true)
    await limiter.close()
  })

  it('names the rule and algorithm whose step returns a state of the wrong length', async () => {
    registerAlgorithm('short-state', {
      stateSize: 2,
      acceptsBurst: false,
      step: () => ({
        state: [1],
        decision: { allowed: true, remaining: 1, resetMs: 0, retryAfterMs: 0, delayMs: 0 },
      }),
    })
    const limiter = createLimiter({
      rules: [{ name: 'short', dimension: 'account', algorithm: 'short-state', limit: 5, window: '1s' }],
    })
    await expect(limiter.check({ account: 'a' })).rejects.toThrow(
      'rule "short": algorithm "short-state" returned a state of 1 numbers, but its stateSize is 2',
    )
    await limiter.close()
  })
})
