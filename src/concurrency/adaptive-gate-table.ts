import { LruMap } from '../stores/lru-map'
import { AdaptiveGate, type Permit } from './adaptive-gate'
import { DEFAULT_PRIORITY_SHARES, type Priority, type PriorityShares } from './priority'
import { VegasLimit } from './vegas-limit'
import type { VegasOptions } from './vegas-options'

export interface AdaptiveGateTableOptions {
  /** Most keys with a gate of their own; beyond it the least recently used key is forgotten. */
  maxKeys?: number
  limit?: Partial<VegasOptions>
  shares?: PriorityShares
  /** The probe jitter's source; tests pass a seeded one. */
  random?: () => number
  /** How long a permit may stay unreleased before it is reclaimed. @default Infinity */
  holdMs?: number
}

export const DEFAULT_MAX_ADAPTIVE_KEYS = 10_000

/**
 * One {@link AdaptiveGate} per key of an adaptive rule, in this process. The table is bounded,
 * so a flood of distinct keys cannot grow memory: the least recently used key's gate, with what
 * it learned, is forgotten. Its permits still in flight keep a reference to that gate, so their
 * release lands there and cannot free places in the key's next gate.
 */
export class AdaptiveGateTable {
  readonly #gates: LruMap<AdaptiveGate>
  readonly #limit: Partial<VegasOptions>
  readonly #shares: PriorityShares
  readonly #random: () => number
  readonly #holdMs: number

  constructor(options: AdaptiveGateTableOptions = {}) {
    this.#gates = new LruMap(options.maxKeys ?? DEFAULT_MAX_ADAPTIVE_KEYS)
    this.#limit = options.limit ?? {}
    this.#shares = options.shares ?? DEFAULT_PRIORITY_SHARES
    this.#random = options.random ?? Math.random
    this.#holdMs = options.holdMs ?? Number.POSITIVE_INFINITY
  }

  get size(): number {
    return this.#gates.size
  }

  /** The gate of `key`, created at `now` when the key is new or was forgotten. */
  gate(key: string, now: number): AdaptiveGate {
    let gate = this.#gates.get(key)
    if (gate === undefined) {
      gate = new AdaptiveGate(new VegasLimit(this.#limit, now, this.#random), this.#shares, this.#holdMs)
      this.#gates.set(key, gate)
    }
    return gate
  }

  tryAcquire(key: string, priority: Priority, now: number): Permit | undefined {
    return this.gate(key, now).tryAcquire(priority, now)
  }
}
