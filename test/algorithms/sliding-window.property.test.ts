import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { arrivals, RUNS, run, startMs, windowMs } from './harness'

describe('sliding window properties', () => {
  it('the two-window estimate never exceeds L, and a request is denied only when it would', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        windowMs,
        startMs,
        windowMs.chain((w) => arrivals(w)),
        async (limit, window, start, sequence) => {
          const outcomes = await run(
            { name: 'sw', dimension: 'global', algorithm: 'sliding-window', limit, window },
            sequence,
            start,
          )
          // Admitted units per aligned window, from the decisions alone.
          const counts = new Map<number, number>()
          for (const { now, cost, decision } of outcomes) {
            const k = Math.floor(now / window)
            const estimateWith = (extra: number) =>
              (counts.get(k - 1) ?? 0) * (1 - (now - k * window) / window) + (counts.get(k) ?? 0) + extra
            if (decision.allowed) {
              counts.set(k, (counts.get(k) ?? 0) + cost)
              expect(estimateWith(0)).toBeLessThanOrEqual(limit + 1e-9)
            } else {
              expect(estimateWith(cost)).toBeGreaterThan(limit - 1e-9)
            }
          }
        },
      ),
      { numRuns: RUNS },
    )
  })
})
