import type { Clock } from '../clock'
import { MemoryStore, type MemoryStoreOptions } from './memory-store'
import type { Store } from './store'

/** The `store` option: a built-in store by type, or a ready {@link Store}. */
export type StoreOptions = MemoryStoreOptions

export function isStore(store: unknown): store is Store {
  return typeof (store as Store | undefined)?.evaluate === 'function'
}

/** Builds the store the options name; unknown types are a TypeError naming the option. */
export function createStore(options: StoreOptions | Store | undefined, clock: Clock): Store {
  if (isStore(options)) return options
  const type = options?.type ?? 'memory'
  if (type === 'memory') return new MemoryStore(options ?? { type: 'memory' }, clock)
  throw new TypeError(`createLimiter: store.type must be "memory" (got ${JSON.stringify(type)})`)
}
