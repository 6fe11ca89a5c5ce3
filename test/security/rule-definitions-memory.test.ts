import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { createFakeClock } from '../support/fake-clock'
import { canMeasureHeap, measureHeap } from '../support/heap'

/** A definition of its own for each `i` (and test): the name and the limit both differ. */
const definition = (i: number, test: string): Rule => ({
  name: `${test}-${i}-quota`,
  dimension: ['account', 'device'],
  algorithm: 'sliding-window',
  limit: 1_000 + i,
  window: '1m',
})

// The retained heap of 10,000 definitions held process-wide was about 2 MB; what a closed
// limiter may leave behind is what the runtime itself keeps (compiled code, caches): far less.
const RETAINED_LIMIT = 256 * 1024

describe.skipIf(!canMeasureHeap)('rule definitions are not kept after use', () => {
  it('10,000 limiters, each with a distinct rule, created, used and closed, leave no heap behind', async () => {
    const clock = createFakeClock()
    const round = (from: number) =>
      measureHeap(async () => {
        for (let i = from; i < from + 10_000; i++) {
          const limiter = createLimiter({ rules: [definition(i, 'created')], clock })
          expect((await limiter.check({ account: 'a', device: 'd' })).allowed).toBe(true)
          await limiter.close()
        }
      })
    // The first round also pays for code the runtime compiles and keeps on first use.
    await round(0)
    expect(await round(10_000)).toBeLessThan(RETAINED_LIMIT)
  })

  it('10,000 distinct rule sets swapped into one limiter leave no heap behind once it is closed', async () => {
    const clock = createFakeClock()
    const round = (from: number) =>
      measureHeap(async () => {
        const limiter = createLimiter({ rules: [definition(-1, 'swapped')], clock })
        for (let i = from; i < from + 10_000; i++) {
          limiter.setRules([definition(i, 'swapped')])
          expect((await limiter.check({ account: 'a', device: 'd' })).allowed).toBe(true)
        }
        await limiter.close()
      })
    await round(0)
    expect(await round(10_000)).toBeLessThan(RETAINED_LIMIT)
  })
})
