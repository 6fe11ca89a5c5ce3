import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Rule } from '../../src/rules/rule'
import { expectSameDecision } from '../conformance/twin'
import { type ModelRule, ReferenceLimiter } from '../support/reference-models'
import { type Arrival, arrivals, limiterFor, RUNS, run, startMs, windowMs } from './harness'

/** Any built-in rule with valid random parameters. */
const anyRule: fc.Arbitrary<ModelRule> = fc
  .record({
    algorithm: fc.constantFrom('fixed-window', 'sliding-window', 'token-bucket', 'leaky-bucket'),
    limit: fc.integer({ min: 1, max: 10 }),
    window: windowMs,
    burst: fc.integer({ min: 1, max: 12 }),
    withBurst: fc.boolean(),
    police: fc.boolean(),
  })
  .map(({ algorithm, limit, window, burst, withBurst, police }) => {
    const rule: ModelRule = { name: 'r', dimension: 'global', algorithm, limit, window }
    if (withBurst && algorithm === 'token-bucket') rule.burst = burst
    if (withBurst && algorithm === 'leaky-bucket') rule.burst = burst - 1
    if (police && algorithm === 'leaky-bucket') rule.mode = 'police'
    return rule
  })

const ruleAndArrivals = anyRule.chain((rule) =>
  fc.tuple(fc.constant(rule), arrivals(typeof rule.window === 'number' ? rule.window : 1000, 50)),
)

describe('properties every algorithm shares', () => {
  it('retryAfterMs is the shortest wait: the same request passes then, and not 1 ms earlier', async () => {
    await fc.assert(
      fc.asyncProperty(
        ruleAndArrivals,
        startMs,
        fc.integer({ min: 1, max: 4 }),
        async ([rule, sequence], start, cost) => {
          const { limiter, clock } = limiterFor([rule as Rule], start)
          for (const arrival of sequence) {
            clock.advance(arrival.gap)
            await limiter.check({}, { cost: arrival.cost })
          }
          const denied = await limiter.check({}, { cost })
          if (!denied.allowed && Number.isFinite(denied.retryAfterMs)) {
            expect(Number.isInteger(denied.retryAfterMs)).toBe(true)
            expect(denied.retryAfterMs).toBeGreaterThanOrEqual(1)
            clock.advance(denied.retryAfterMs - 1)
            expect((await limiter.check({}, { cost })).allowed).toBe(false)
            clock.advance(1)
            expect((await limiter.check({}, { cost })).allowed).toBe(true)
          }
          await limiter.close()
        },
      ),
      { numRuns: RUNS * 2 },
    )
  })

  it('remaining is a whole number >= 0 and a denied decision has no delay', async () => {
    await fc.assert(
      fc.asyncProperty(ruleAndArrivals, startMs, async ([rule, sequence], start) => {
        for (const { decision } of await run(rule as Rule, sequence, start)) {
          expect(Number.isInteger(decision.remaining) && decision.remaining >= 0).toBe(true)
          expect(decision.resetMs).toBeGreaterThanOrEqual(0)
          if (!decision.allowed) expect(decision.delayMs).toBe(0)
          else expect(decision.retryAfterMs).toBe(0)
        }
      }),
      { numRuns: RUNS },
    )
  })

  it('a denied request changes nothing: dropping the denied ones leaves every other decision the same', async () => {
    await fc.assert(
      fc.asyncProperty(ruleAndArrivals, startMs, async ([rule, sequence], start) => {
        const all = await run(rule as Rule, sequence, start)
        // Replay only the admitted requests, at the same instants.
        const kept: Arrival[] = []
        let last = start
        for (const outcome of all) {
          if (!outcome.decision.allowed) continue
          kept.push({ gap: outcome.now - last, cost: outcome.cost })
          last = outcome.now
        }
        const replay = await run(rule as Rule, kept, start)
        expect(replay.map((o) => o.decision)).toEqual(
          all.filter((o) => o.decision.allowed).map((o) => o.decision),
        )
      }),
      { numRuns: RUNS },
    )
  })

  it('every decision equals the exact reference model, for random rule sets of up to three rules', async () => {
    const ruleSet = fc
      .array(anyRule, { minLength: 1, maxLength: 3 })
      .map((rules) =>
        rules.map((rule, i) => ({ ...rule, name: `r${i}`, shadow: i === 2 ? true : undefined })),
      )
    await fc.assert(
      fc.asyncProperty(ruleSet, startMs, arrivals(1000, 50), async (rules, start, sequence) => {
        const { limiter, clock } = limiterFor(rules as Rule[], start)
        const model = new ReferenceLimiter(rules)
        for (const [i, { gap, cost }] of sequence.entries()) {
          clock.advance(gap)
          const expected = model.check({}, clock(), cost)
          const actual = await limiter.check({}, { cost })
          expectSameDecision(actual, expected, `step ${i} at t=${clock()} cost=${cost}`)
        }
        await limiter.close()
      }),
      { numRuns: RUNS },
    )
  })
})
