/**
 * mulberry32: a tiny seeded PRNG, so "random" arrivals are the same on every run and a failing
 * seed can be replayed. Returns floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Helpers over one PRNG stream. */
export interface Random {
  float(): number
  /** Whole number in [min, max]. */
  int(min: number, max: number): number
  /** True with probability `p`. */
  chance(p: number): boolean
  pick<T>(items: readonly T[]): T
}

export function seededRandom(seed: number): Random {
  const next = mulberry32(seed)
  return {
    float: next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new RangeError('pick: empty list')
      return items[Math.floor(next() * items.length)] as (typeof items)[number]
    },
  }
}

/** A short random token for per-test key namespaces (rule names and subject values). */
export function uniqueSuffix(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, '0')
}
