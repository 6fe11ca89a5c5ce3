import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { arrivals, RUNS, run, startMs, windowMs } from './harness'

describe('token bucket properties', () => {
  it('never admits more than B + rate·t units in any interval of length t', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
        windowMs,
        startMs,
        windowMs.chain((w) => arrivals(w)),
        async (limit, burst, window, start, sequence) => {
          const outcomes = await run(
            { name: 'tb', dimension: 'global', algorithm: 'token-bucket', limit, window, burst },
            sequence,
            start,
          )
          const capacity = burst ?? limit
          const admitted = outcomes.filter((o) => o.decision.allowed)
          for (let i = 0; i < admitted.length; i++) {
            let units = 0
            for (let j = i; j < admitted.length; j++) {
              units += (admitted[j] as (typeof admitted)[number]).cost
              const t =
                (admitted[j] as (typeof admitted)[number]).now -
                (admitted[i] as (typeof admitted)[number]).now
              expect(units).toBeLessThanOrEqual(capacity + (t * limit) / window + 1e-9)
            }
          }
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('a full bucket admits exactly B unit requests at one instant', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        windowMs,
        startMs,
        async (limit, burst, window, start) => {
          const sequence = Array.from({ length: burst + 3 }, () => ({ gap: 0, cost: 1 }))
          const outcomes = await run(
            { name: 'tb', dimension: 'global', algorithm: 'token-bucket', limit, window, burst },
            sequence,
            start,
          )
          expect(outcomes.filter((o) => o.decision.allowed)).toHaveLength(burst)
          expect(outcomes.map((o) => o.decision.remaining).slice(0, burst)).toEqual(
            Array.from({ length: burst }, (_, i) => burst - 1 - i),
          )
        },
      ),
      { numRuns: 60 },
    )
  })
})
