/**
 * A map from strings with at most `max` entries: setting a new key when full evicts the least
 * recently used one (read or written). Only what the stores need (get, set, delete, size), so a
 * hit costs one `Map.get` and a few writes to typed arrays: the request path reads one of these
 * per applicable rule, and a general-purpose cache (options objects, TTL checks, diagnostics per
 * call) cost several times as much there.
 *
 * Entries live in slots: the Map gives a key's slot, and `older`/`newer` link the slots into a
 * recency list. Slot arrays grow by doubling up to `max`, so a table of few keys stays small.
 */
export class LruMap<V> {
  readonly #max: number
  readonly #slots = new Map<string, number>()
  #keys: (string | undefined)[] = []
  #values: (V | undefined)[] = []
  #older: Int32Array
  #newer: Int32Array
  /** Least and most recently used slots; -1 when empty. */
  #oldest = -1
  #newest = -1
  /** Slots freed by `delete`, reused before new ones. */
  readonly #free: number[] = []

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`LruMap: max must be a whole number >= 1 (got ${max})`)
    this.#max = max
    const initial = Math.min(max, 16)
    this.#older = new Int32Array(initial)
    this.#newer = new Int32Array(initial)
  }

  get size(): number {
    return this.#slots.size
  }

  /** The value of `key`, which becomes the most recently used; undefined when absent. */
  get(key: string): V | undefined {
    const slot = this.#slots.get(key)
    if (slot === undefined) return undefined
    if (slot !== this.#newest) this.#touch(slot)
    return this.#values[slot]
  }

  set(key: string, value: V): void {
    let slot = this.#slots.get(key)
    if (slot !== undefined) {
      this.#values[slot] = value
      if (slot !== this.#newest) this.#touch(slot)
      return
    }
    slot = this.#claim()
    this.#slots.set(key, slot)
    this.#keys[slot] = key
    this.#values[slot] = value
    this.#link(slot)
  }

  delete(key: string): boolean {
    const slot = this.#slots.get(key)
    if (slot === undefined) return false
    this.#slots.delete(key)
    this.#unlink(slot)
    this.#keys[slot] = undefined
    this.#values[slot] = undefined
    this.#free.push(slot)
    return true
  }

  clear(): void {
    this.#slots.clear()
    this.#keys = []
    this.#values = []
    this.#free.length = 0
    this.#oldest = -1
    this.#newest = -1
  }

  /** A slot for a new key: a freed one, a fresh one, or the least recently used one's. */
  #claim(): number {
    const freed = this.#free.pop()
    if (freed !== undefined) return freed
    const used = this.#slots.size
    if (used < this.#max) {
      if (used === this.#older.length) this.#grow()
      return used
    }
    const victim = this.#oldest
    this.#slots.delete(this.#keys[victim] as string)
    this.#unlink(victim)
    return victim
  }

  #grow(): void {
    const length = Math.min(this.#max, this.#older.length * 2)
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
