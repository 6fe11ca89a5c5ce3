import { LRUCache } from 'lru-cache'
import type { AlgorithmState, RuleVerdict, StepInput } from '../algorithm'
import type { Clock } from '../clock'
import { hint } from '../did-you-mean'
import type { CompiledRule } from '../rules/compiled-rule'
import { stepAll } from './all-or-nothing'
import type { Evaluation, EvaluationRequest, Store } from './store'

export interface MemoryStoreOptions {
  type: 'memory'
  /**
   * Most keys (rule × subject) kept; the least recently used is evicted beyond it. Each key
   * costs well under 200 bytes of heap, so the default bounds the store near 20 MB.
   * @default 100_000
   */
  maxKeys?: number
}

const MEMORY_STORE_OPTION_NAMES = ['type', 'maxKeys']

export const DEFAULT_MEMORY_STORE_OPTIONS = {
  type: 'memory',
  maxKeys: 100_000,
} as const satisfies MemoryStoreOptions

/**
 * Rule states in process memory, in one bounded LRU. Nothing expires on a timer: a stale state
 * means the same as none to every algorithm (an old window, a refilled bucket), so it simply
 * waits to be evicted. That keeps per-key cost low and makes any window length safe.
 */
export class MemoryStore implements Store {
  readonly #cache: LRUCache<string, number[]>
  readonly #clock: Clock

  constructor(options: Partial<MemoryStoreOptions>, clock: Clock) {
    for (const key of Object.keys(options)) {
      if (!MEMORY_STORE_OPTION_NAMES.includes(key)) {
        throw new TypeError(
          `store: unknown option "${key}" for the memory store${hint(key, MEMORY_STORE_OPTION_NAMES)}`,
        )
      }
    }
    const maxKeys = options.maxKeys ?? DEFAULT_MEMORY_STORE_OPTIONS.maxKeys
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new TypeError(`store.maxKeys must be a whole number of keys, at least 1 (got ${String(maxKeys)})`)
    }
    this.#cache = new LRUCache({ max: maxKeys })
    this.#clock = clock
  }

  /** Keys currently held. */
  get size(): number {
    return this.#cache.size
  }

  evaluate({ rules, subjectKeys, cost }: EvaluationRequest): Evaluation {
    const input = { now: this.#clock(), cost }
    if (rules.length === 1)
      return this.#evaluateOne(rules[0] as CompiledRule, subjectKeys[0] as string, input)
    const keys: string[] = new Array(rules.length)
    const states: (number[] | undefined)[] = new Array(rules.length)
    for (let i = 0; i < rules.length; i++) {
      const key = `${(rules[i] as CompiledRule).id}|${subjectKeys[i]}`
      keys[i] = key
      states[i] = this.#cache.get(key)
    }
    const verdicts: RuleVerdict[] = new Array(rules.length)
    const next = stepAll(rules, states, input, verdicts)
    if (next) {
      for (let i = 0; i < rules.length; i++) {
        const state = next[i]
        if (state !== undefined) this.#write(keys[i] as string, states[i], state)
      }
    }
    return { verdicts, degraded: false }
  }

  /** The common case of one applicable rule, without the bookkeeping of all-or-nothing. */
  #evaluateOne(rule: CompiledRule, subjectKey: string, input: StepInput): Evaluation {
    const key = `${rule.id}|${subjectKey}`
    const state = this.#cache.get(key)
    const { state: next, decision } = rule.algorithm.step(state, input, rule.params)
    if (decision.allowed) this.#write(key, state, next)
    return { verdicts: [decision], degraded: false }
  }

  async close(): Promise<void> {
    this.#cache.clear()
  }

  #write(key: string, current: number[] | undefined, state: AlgorithmState): void {
    if (current === undefined || current.length !== state.length) {
      this.#cache.set(key, state as number[])
      return
    }
    // The entry was just read (and so refreshed); updating in place spares a second lookup.
    for (let i = 0; i < state.length; i++) current[i] = state[i] as number
  }
}
