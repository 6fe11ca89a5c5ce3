import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { arrivals, RUNS, run, startMs, windowMs } from './harness'

describe('fixed window properties', () => {
  it('never admits more than L units in one epoch-aligned window, and remaining is L minus them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        windowMs,
        startMs,
        windowMs.chain((w) => arrivals(w)),
        async (limit, window, start, sequence) => {
          const outcomes = await run(
            { name: 'fw', dimension: 'global', algorithm: 'fixed-window', limit, window },
            sequence,
            start,
          )
          const used = new Map<number, number>()
          for (const { now, cost, decision } of outcomes) {
            const k = Math.floor(now / window)
            const before = used.get(k) ?? 0
            if (decision.allowed) used.set(k, before + cost)
            const after = used.get(k) ?? 0
            expect(after).toBeLessThanOrEqual(limit)
            expect(decision.remaining).toBe(limit - after)
            expect(decision.resetMs).toBe((k + 1) * window - now)
            // Admission is exactly "fits in what is left of this window".
            expect(decision.allowed).toBe(before + cost <= limit)
          }
        },
      ),
      { numRuns: RUNS },
    )
  })
})
