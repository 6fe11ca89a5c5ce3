import type { Clock } from '../clock'
import { MemoryStore, type MemoryStoreOptions } from './memory-store'
import type { RedisStoreOptions } from './redis/options'
import { RedisStore } from './redis/redis-store'
import type { Store } from './store'

/** The `store` option: a built-in store by type, or a ready {@link Store}. */
export type StoreOptions = MemoryStoreOptions | RedisStoreOptions

export function isStore(store: unknown): store is Store {
  return typeof (store as Store | undefined)?.evaluate === 'function'
}

/** Builds the store the options name; unknown types are a TypeError naming the option. */
export function createStore(options: StoreOptions | Store | undefined, clock: Clock): Store {
  if (isStore(options)) return options
  const type = options?.type ?? 'memory'
  if (type === 'memory') return new MemoryStore((options as MemoryStoreOptions) ?? { type: 'memory' }, clock)
  if (type === 'redis') return new RedisStore(options as RedisStoreOptions, clock)
  throw new TypeError(`createLimiter: store.type must be "memory" or "redis" (got ${JSON.stringify(type)})`)
}
