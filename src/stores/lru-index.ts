/**
 * Numbered slots for at most `max` string keys, kept in order of use: adding a key when full
 * evicts the least recently used one and hands its slot to the new key. Whatever a slot holds
 * (a value, a row of numbers) lives in the owner's own arrays, indexed by slot, so a hit costs
 * one `Map.get` and a few writes to typed arrays: the stores read one of these per applicable
 * rule on every request, where a general-purpose cache (options objects, TTL checks,
 * diagnostics per call) cost several times as much.
 *
 * `older`/`newer` link the slots into the recency list. Slot arrays grow by doubling up to
 * `max`, so a table of few keys stays small.
 */
export class LruIndex {
  readonly max: number
  readonly #slots = new Map<string, number>()
  #keys: (string | undefined)[] = []
  #older: Int32Array
  #newer: Int32Array
  /** Least and most recently used slots; -1 when empty. */
  #oldest = -1
  #newest = -1
  /** Slots freed by `remove`, reused before new ones. */
  readonly #free: number[] = []

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`LruIndex: max must be a whole number >= 1 (got ${max})`)
    }
    this.max = max
    const initial = Math.min(max, 16)
    this.#older = new Int32Array(initial)
    this.#newer = new Int32Array(initial)
  }

  get size(): number {
    return this.#slots.size
  }

  /** The slot of `key`, which becomes the most recently used; -1 when absent. */
  find(key: string): number {
    const slot = this.#slots.get(key)
    if (slot === undefined) return -1
    if (slot !== this.#newest) this.#touch(slot)
    return slot
  }

  /**
   * A slot for `key`, which must be absent, as the most recently used: a freed slot, a new one,
   * or, when full, the least recently used key's (that key is evicted).
   */
  add(key: string): number {
    const slot = this.#claim()
    this.#slots.set(key, slot)
    this.#keys[slot] = key
    this.#link(slot)
    return slot
  }

  /** Removes `key`; returns the slot it had, or -1. */
  remove(key: string): number {
    const slot = this.#slots.get(key)
    if (slot === undefined) return -1
    this.#slots.delete(key)
    this.#unlink(slot)
    this.#keys[slot] = undefined
    this.#free.push(slot)
    return slot
  }

  clear(): void {
    this.#slots.clear()
    this.#keys = []
    this.#free.length = 0
    this.#oldest = -1
    this.#newest = -1
  }

  #claim(): number {
    const freed = this.#free.pop()
    if (freed !== undefined) return freed
    const used = this.#slots.size
    if (used < this.max) {
      if (used === this.#older.length) this.#grow()
      return used
    }
    const victim = this.#oldest
    this.#slots.delete(this.#keys[victim] as string)
    this.#unlink(victim)
    return victim
  }

  #grow(): void {
    const length = Math.min(this.max, this.#older.length * 2)
    const older = new Int32Array(length)
    older.set(this.#older)
    this.#older = older
    const newer = new Int32Array(length)
    newer.set(this.#newer)
    this.#newer = newer
  }

  #touch(slot: number): void {
    this.#unlink(slot)
    this.#link(slot)
  }

  /** Appends `slot` as the most recently used. */
  #link(slot: number): void {
    this.#older[slot] = this.#newest
    this.#newer[slot] = -1
    if (this.#newest >= 0) this.#newer[this.#newest] = slot
    else this.#oldest = slot
    this.#newest = slot
  }

  #unlink(slot: number): void {
    const older = this.#older[slot] as number
    const newer = this.#newer[slot] as number
    if (older >= 0) this.#newer[older] = newer
    else this.#oldest = newer
    if (newer >= 0) this.#older[newer] = older
    else this.#newest = older
  }
}
