import { LruIndex } from './lru-index'
import { LruMap } from './lru-map'

/**
 * One rule's states in memory: for each of at most `max` subject keys, a row of `width`
 * numbers (the algorithm's state tuple) in one flat Float64Array, evicting the least recently
 * used key. No object per key: a lookup reaches the state through the key's slot number, which
 * the Map holds inline, rather than through an array object and its separate element store.
 * On a busy server those are cache misses on every check, one set per rule.
 */
export class StateTable {
  readonly #index: LruIndex
  readonly #width: number
  #rows: Float64Array
  /** Keys under a `blockFor` penalty, with the time it ends; made on the first block. */
  #blocks: LruMap<number> | undefined

  constructor(max: number, width: number) {
    this.#index = new LruIndex(max)
    this.#width = width
    this.#rows = new Float64Array(Math.min(max, 16) * width)
  }

  get size(): number {
    return this.#index.size
  }

  /**
   * Copies the state of `key` into `into` and returns its slot (the key becomes the most
   * recently used); -1 when the key has no state.
   */
  read(key: string, into: number[]): number {
    const slot = this.#index.find(key)
    if (slot < 0) return -1
    const rows = this.#rows
    const base = slot * this.#width
    for (let i = 0; i < this.#width; i++) into[i] = rows[base + i] as number
    return slot
  }

  /**
   * Stores `state` for `key`: in `slot` when `read` just returned it, else in a new slot (which
   * may evict the least recently used key).
   */
  write(key: string, slot: number, state: ArrayLike<number>): void {
    const at = slot >= 0 ? slot : this.#index.add(key)
    const base = at * this.#width
    if (base + this.#width > this.#rows.length) this.#grow(base + this.#width)
    for (let i = 0; i < this.#width; i++) this.#rows[base + i] = state[i] as number
  }

  /** Forgets `key`: its state and any block on it. */
  remove(key: string): void {
    this.#index.remove(key)
    this.#blocks?.delete(key)
  }

  /** When the block on `key` ends (the store's clock), or 0 when it has none. */
  blockedUntil(key: string): number {
    return this.#blocks?.get(key) ?? 0
  }

  /**
   * Blocks `key` until `until`. At most `max` keys are blocked at once, the least recently used
   * block giving way: a flood of blocked keys bounds memory as a flood of states does.
   */
  block(key: string, until: number): void {
    this.#blocks ??= new LruMap(this.#index.max)
    this.#blocks.set(key, until)
  }

  unblock(key: string): void {
    this.#blocks?.delete(key)
  }

  #grow(needed: number): void {
    const length = Math.min(this.#index.max * this.#width, Math.max(needed, this.#rows.length * 2))
    const rows = new Float64Array(length)
    rows.set(this.#rows)
    this.#rows = rows
  }
}
