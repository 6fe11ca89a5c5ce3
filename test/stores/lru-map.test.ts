import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LruMap } from '../../src/stores/lru-map'

/** The obvious LRU: a Map's insertion order, re-inserting a key whenever it is used. */
class ReferenceLru<V> {
  readonly #map = new Map<string, V>()
  constructor(readonly max: number) {}
  get size(): number {
    return this.#map.size
  }
  get(key: string): V | undefined {
    if (!this.#map.has(key)) return undefined
    const value = this.#map.get(key) as V
    this.#map.delete(key)
    this.#map.set(key, value)
    return value
  }
  set(key: string, value: V): void {
    this.#map.delete(key)
    if (this.#map.size >= this.max) this.#map.delete(this.#map.keys().next().value as string)
    this.#map.set(key, value)
  }
  delete(key: string): boolean {
    return this.#map.delete(key)
  }
  keys(): string[] {
    return [...this.#map.keys()]
  }
}

type Op = { op: 'get' | 'set' | 'delete'; key: string; value: number }

describe('LruMap', () => {
  it('evicts the least recently read or written key when full', () => {
    const map = new LruMap<number>(3)
    map.set('a', 1)
    map.set('b', 2)
    map.set('c', 3)
    expect(map.get('a')).toBe(1) // a is now the most recent
    map.set('b', 20) // so is b, written
    map.set('d', 4) // evicts c
    expect(map.get('c')).toBeUndefined()
    expect([map.get('a'), map.get('b'), map.get('d')]).toEqual([1, 20, 4])
    expect(map.size).toBe(3)
  })

  it('reuses the slot of a deleted key and keeps its bound', () => {
    const map = new LruMap<number>(2)
    map.set('a', 1)
    map.set('b', 2)
    expect(map.delete('a')).toBe(true)
    expect(map.delete('a')).toBe(false)
    map.set('c', 3) // fills the freed slot: nothing evicted
    expect([map.get('b'), map.get('c')]).toEqual([2, 3])
    map.set('d', 4) // evicts b, the least recent
    expect(map.get('b')).toBeUndefined()
    expect(map.size).toBe(2)
  })

  it('holds exactly one key with max 1, and rejects a bad max', () => {
    const map = new LruMap<number>(1)
    map.set('a', 1)
    map.set('b', 2)
    expect(map.get('a')).toBeUndefined()
    expect(map.get('b')).toBe(2)
    expect(() => new LruMap(0)).toThrow(RangeError)
    expect(() => new LruMap(2.5)).toThrow(RangeError)
  })

  it('answers like the reference LRU for any sequence of operations (growing past its first slots)', () => {
    const op = fc.record({
      op: fc.constantFrom<Op['op']>('get', 'set', 'set', 'delete'),
      key: fc.integer({ min: 0, max: 24 }).map((n) => `k${n}`),
      value: fc.integer(),
    })
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(op, { minLength: 20, maxLength: 400, size: 'max' }),
        (max, ops) => {
          const map = new LruMap<number>(max)
          const reference = new ReferenceLru<number>(max)
          for (const { op: name, key, value } of ops) {
            if (name === 'get') expect(map.get(key)).toBe(reference.get(key))
            else if (name === 'set') {
              map.set(key, value)
              reference.set(key, value)
            } else expect(map.delete(key)).toBe(reference.delete(key))
            expect(map.size).toBe(reference.size)
          }
          // Same keys survive: reading them all (oldest first) gives the same values.
          for (const key of reference.keys()) expect(map.get(key)).toBe(reference.get(key))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('starts again empty after clear', () => {
    const map = new LruMap<number>(4)
    for (const key of ['a', 'b', 'c']) map.set(key, 1)
    map.clear()
    expect(map.size).toBe(0)
    expect(map.get('a')).toBeUndefined()
    for (const key of ['d', 'e', 'f', 'g', 'h']) map.set(key, 2)
    expect(map.get('d')).toBeUndefined()
    expect(map.size).toBe(4)
  })
})
