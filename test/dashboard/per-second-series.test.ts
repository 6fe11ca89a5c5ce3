import { describe, expect, it } from 'vitest'
import { PerSecondSeries } from '../../src/dashboard/per-second-series'
import { createFakeClock } from '../support/fake-clock'

describe('PerSecondSeries', () => {
  it('counts per second, oldest first, over the last N seconds', () => {
    const clock = createFakeClock(1_700_000_000_000)
    const series = new PerSecondSeries(5)
    series.add(clock())
    series.add(clock.advance(300))
    clock.advance(700)
    series.add(clock(), 4)
    clock.advance(2000)
    series.add(clock())
    expect(series.window(clock())).toEqual([0, 2, 4, 0, 1])
    expect(series.at(clock() - 3000)).toBe(2)
  })

  it('forgets seconds older than the window without being cleared', () => {
    const clock = createFakeClock(1_700_000_000_000)
    const series = new PerSecondSeries(3)
    const start = clock()
    series.add(start, 7)
    // The slot of that second is reused three seconds later: the old count must not leak in.
    clock.advance(3000)
    series.add(clock())
    expect(series.window(clock())).toEqual([0, 0, 1])
    expect(series.at(start)).toBe(0)
    clock.advance(10_000)
    expect(series.window(clock())).toEqual([0, 0, 0])
  })

  it('refuses a length that is not a whole number ≥ 1', () => {
    expect(() => new PerSecondSeries(0)).toThrow(RangeError)
  })
})
