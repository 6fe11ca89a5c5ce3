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

  set(key: string, value: V): void {
    const slot = this.#index.find(key)
    this.#values[slot < 0 ? this.#index.add(key) : slot] = value
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
