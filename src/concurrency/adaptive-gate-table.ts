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

/** How many evicted gates with places held may be set aside, as a multiple of `maxKeys`. */
const BUSY_FACTOR = 4

interface Entry {
  readonly key: string
  readonly gate: AdaptiveGate
}

/**
 * One {@link AdaptiveGate} per key of an adaptive rule, in this process. The table is bounded,
 * so a flood of distinct keys cannot grow memory: the least recently used key's gate, with what
 * it learned, is forgotten. Its permits still in flight keep a reference to that gate, so their
 * release lands there and cannot free places in the key's next gate.
 *
 * A gate evicted while requests hold its places is set aside until they are released, and the
 * key gets it back if it returns meanwhile: otherwise a client minting other keys could evict a
 * busy key and have it start again with every place free, `limit` more in flight each time.
 * Gates set aside are bounded by the requests in flight (each holds at least one place), and by
 * a hard cap of {@link BUSY_FACTOR} × `maxKeys`, beyond which the oldest are forgotten anyway.
 */
export class AdaptiveGateTable {
  readonly #gates: LruMap<Entry>
  /** Evicted gates whose places were still held, by key (see the class comment). */
  readonly #busy = new Map<string, AdaptiveGate>()
  readonly #maxKeys: number
  #sweepAt: number
  readonly #limit: Partial<VegasOptions>
  readonly #shares: PriorityShares
  readonly #random: () => number
  readonly #holdMs: number

  constructor(options: AdaptiveGateTableOptions = {}) {
    this.#maxKeys = options.maxKeys ?? DEFAULT_MAX_ADAPTIVE_KEYS
    this.#gates = new LruMap(this.#maxKeys)
    this.#sweepAt = this.#maxKeys
    this.#limit = options.limit ?? {}
    this.#shares = options.shares ?? DEFAULT_PRIORITY_SHARES
    this.#random = options.random ?? Math.random
    this.#holdMs = options.holdMs ?? Number.POSITIVE_INFINITY
  }

  get size(): number {
    return this.#gates.size
  }

  /** Evicted gates set aside because requests still hold their places. */
  get setAside(): number {
    return this.#busy.size
  }

  /** The gate of `key`, created at `now` when the key is new or was forgotten. */
  gate(key: string, now: number): AdaptiveGate {
    const entry = this.#gates.get(key)
    if (entry !== undefined) return entry.gate
    let gate = this.#busy.get(key)
    if (gate !== undefined) this.#busy.delete(key)
    if (gate === undefined || gate.inFlight === 0) {
      gate = new AdaptiveGate(new VegasLimit(this.#limit, now, this.#random), this.#shares, this.#holdMs)
    }
    const evicted = this.#gates.set(key, { key, gate })
    if (evicted !== undefined && evicted.gate.inFlight > 0) this.#setAside(evicted)
    return gate
  }

  #setAside(entry: Entry): void {
    const busy = this.#busy
    busy.set(entry.key, entry.gate)
    if (busy.size > BUSY_FACTOR * this.#maxKeys) {
      busy.delete(busy.keys().next().value as string)
      return
    }
    if (busy.size <= this.#sweepAt) return
    // Amortised: a sweep drops the gates whose requests have all been released since, and the
    // next one waits until the set has doubled.
    for (const [key, gate] of busy) if (gate.inFlight === 0) busy.delete(key)
    this.#sweepAt = Math.max(this.#maxKeys, 2 * busy.size)
  }

  tryAcquire(key: string, priority: Priority, now: number): Permit | undefined {
    return this.gate(key, now).tryAcquire(priority, now)
  }
}
