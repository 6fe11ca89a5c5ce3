import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { arrivals, RUNS, run, startMs, windowMs } from './harness'

describe('leaky bucket properties', () => {
  it('admitted requests, each released after its delayMs, are spaced at least cost·T apart', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 6 }),
        windowMs,
        startMs,
        windowMs.chain((w) => arrivals(w)),
        async (limit, burst, window, start, sequence) => {
          const outcomes = await run(
            { name: 'lb', dimension: 'global', algorithm: 'leaky-bucket', limit, window, burst },
            sequence,
            start,
          )
          const T = window / limit
          const admitted = outcomes.filter((o) => o.decision.allowed)
          for (let i = 1; i < admitted.length; i++) {
            const previous = admitted[i - 1] as (typeof admitted)[number]
            const current = admitted[i] as (typeof admitted)[number]
            // Release times are now + delayMs; subtract the whole-ms parts first so that
            // epoch-scale magnitudes do not swamp the comparison.
            const spacing =
              current.now - previous.now + (current.decision.delayMs - previous.decision.delayMs)
            expect(spacing).toBeGreaterThanOrEqual(previous.cost * T - 1e-6)
          }
          for (const { decision } of outcomes) {
            if (decision.allowed) expect(decision.delayMs).toBeLessThanOrEqual(burst * T + 1e-6)
            else expect(decision.delayMs).toBe(0)
          }
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('police mode admits exactly what shaping admits, with no delay', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 6 }),
        windowMs,
        startMs,
        windowMs.chain((w) => arrivals(w)),
        async (limit, burst, window, start, sequence) => {
          const rule = { name: 'lb', dimension: 'global', algorithm: 'leaky-bucket', limit, window, burst }
          const shaped = await run({ ...rule, mode: 'shape' }, sequence, start)
          const policed = await run({ ...rule, mode: 'police' }, sequence, start)
          expect(policed.map((o) => o.decision.allowed)).toEqual(shaped.map((o) => o.decision.allowed))
          expect(policed.every((o) => o.decision.delayMs === 0)).toBe(true)
        },
      ),
      { numRuns: 80 },
    )
  })
})
