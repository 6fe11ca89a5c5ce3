import { describe, literal, object, optional, positiveInteger } from '../schema/schema'

/**
 * The memory store's options: one schema for `createLimiter({ store })` and the `store:` section
 * of `diana.yaml`. An option is added here (interface, default, schema) and where it is used.
 */
export interface MemoryStoreOptions {
  /** Counters live in this process. */
  type: 'memory'
  /**
   * Most keys (subjects) kept per rule; beyond it the least recently used is evicted. Each key
   * costs roughly 50 bytes of index, 8 bytes per number of its state (2 for the buckets, 4 for
   * fixed window, 6 for sliding window) and its key string, so the default bounds a rule near
   * 10 to 15 MB.
   * @default 100_000
   */
  maxKeys?: number
}

export const DEFAULT_MEMORY_STORE_OPTIONS = {
  type: 'memory',
  maxKeys: 100_000,
} as const satisfies MemoryStoreOptions

export const memoryStoreSchema = describe(
  object(
    {
      type: describe(literal('memory', 'must be memory'), 'Counters live in this process.'),
      maxKeys: describe(
        optional(positiveInteger('must be a whole number of keys, at least 1')),
        'Most keys (subjects) kept per rule; beyond it the least recently used is evicted. Each key costs roughly 50 bytes of index, 8 bytes per number of its state (2 for the buckets, 4 for fixed window, 6 for sliding window) and its key string, so the default bounds a rule near 10 to 15 MB. Default: 100000.',
      ),
    },
    'must be { type: memory, maxKeys }',
  ),
  'Counters in this process (the default store).',
)
