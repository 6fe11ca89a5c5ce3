import { LruIndex } from './lru-index'

/** A map from strings with at most `max` entries, evicting the least recently used. */
export class LruMap<V> {
  readonly #index: LruIndex
  #values: (V | undefined)[] = []

  constructor(max: number) {
    this.#index = new LruIndex(max)
  }

  get size(): number {
    return this.#index.size
  }

  /** The value of `key`, which becomes the most recently used; undefined when absent. */
  get(key: string): V | undefined {
    const slot = this.#index.find(key)
    return slot < 0 ? undefined : this.#values[slot]
  }

  /** Sets `key`; returns the value of the least recently used key evicted to make room, if any. */
  set(key: string, value: V): V | undefined {
    const found = this.#index.find(key)
    if (found >= 0) {
      this.#values[found] = value
      return undefined
    }
    const slot = this.#index.add(key)
    const evicted = this.#values[slot]
    this.#values[slot] = value
    return evicted
  }

  delete(key: string): boolean {
    const slot = this.#index.remove(key)
    if (slot < 0) return false
    this.#values[slot] = undefined
    return true
  }

  clear(): void {
    this.#index.clear()
    this.#values = []
  }
}
