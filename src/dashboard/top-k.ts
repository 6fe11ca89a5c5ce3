/**
 * The most frequent keys of a stream in fixed memory: the Space-Saving sketch (Metwally,
 * Agrawal, El Abbadi, 2005). It holds at most `capacity` counters; a key not held takes over
 * the smallest counter and inherits its count as its possible overcount (`error`). Any key
 * seen more than total/capacity times is guaranteed to be held, and a held key's true count is
 * between `count - error` and `count`. Hostile traffic with ever-new keys therefore costs no
 * memory, only evictions among the small counters.
 *
 * Written here rather than taken from a library: it is forty lines, and the dashboard needs it
 * with no dependency a user would have to install.
 */
export interface TopEntry {
  key: string
  count: number
  /** How much of `count` may belong to keys this one replaced. */
  error: number
}

export class TopK {
  readonly #entries = new Map<string, TopEntry>()
  #total = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a whole number ≥ 1')
  }

  /** Everything offered so far. */
  get total(): number {
    return this.#total
  }

  get size(): number {
    return this.#entries.size
  }

  offer(key: string, amount = 1): void {
    this.#total += amount
    const held = this.#entries.get(key)
    if (held !== undefined) {
      held.count += amount
      return
    }
    if (this.#entries.size < this.capacity) {
      this.#entries.set(key, { key, count: amount, error: 0 })
      return
    }
    // A linear scan for the smallest: capacity is small (tens), and this runs only for a key
    // not held, on denied requests only.
    let smallest: TopEntry | undefined
    for (const entry of this.#entries.values()) {
      if (smallest === undefined || entry.count < smallest.count) smallest = entry
    }
    const min = smallest as TopEntry
    this.#entries.delete(min.key)
    this.#entries.set(key, { key, count: min.count + amount, error: min.count })
  }

  /** The held keys, largest count first (at most `limit`). */
  top(limit = this.capacity): TopEntry[] {
    return [...this.#entries.values()]
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1))
      .slice(0, limit)
      .map((entry) => ({ ...entry }))
  }
}
