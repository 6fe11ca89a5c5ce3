import { describe, expect, it } from 'vitest'
import { TopK } from '../../src/dashboard/top-k'

describe('TopK (Space-Saving)', () => {
  it('counts exactly while the keys fit', () => {
    const top = new TopK(3)
    for (const key of ['a', 'b', 'a', 'c', 'a', 'b']) top.offer(key)
    expect(top.top()).toEqual([
      { key: 'a', count: 3, error: 0 },
      { key: 'b', count: 2, error: 0 },
      { key: 'c', count: 1, error: 0 },
    ])
  })

  it('keeps a heavy key among a flood of one-off keys, in fixed memory', () => {
    const top = new TopK(10)
    for (let i = 0; i < 100_000; i++) {
      top.offer(`one-off-${i}`)
      if (i % 5 === 0) top.offer('attacker')
    }
    // Held and bounded whatever the number of distinct keys.
    expect(top.size).toBe(10)
    const [first] = top.top(1)
    expect(first?.key).toBe('attacker')
    // Its true count (20,000) lies within [count - error, count].
    expect((first?.count ?? 0) - (first?.error ?? 0)).toBeLessThanOrEqual(20_000)
    expect(first?.count).toBeGreaterThanOrEqual(20_000)
  })

  it('gives a newcomer the smallest count as its possible overcount', () => {
    const top = new TopK(2)
    top.offer('a', 5)
    top.offer('b', 2)
    top.offer('c')
    expect(top.top()).toEqual([
      { key: 'a', count: 5, error: 0 },
      { key: 'c', count: 3, error: 2 },
    ])
    expect(top.total).toBe(8)
  })

  it('refuses a capacity that is not a whole number ≥ 1', () => {
    expect(() => new TopK(0)).toThrow(RangeError)
    expect(() => new TopK(1.5)).toThrow(RangeError)
  })
})
