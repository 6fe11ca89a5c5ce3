import type { AlgorithmState, RuleVerdict, StepInput } from '../algorithm'
import type { Clock } from '../clock'
import { hint } from '../did-you-mean'
import type { CompiledRule } from '../rules/compiled-rule'
import { stepAll } from './all-or-nothing'
import { LruMap } from './lru-map'
import type { Evaluation, EvaluationRequest, Store } from './store'

export interface MemoryStoreOptions {
  type: 'memory'
  /**
   * Most keys (subjects) kept per rule; beyond it the least recently used is evicted. Each key
   * costs about 100-150 bytes of heap, so the default bounds a rule near 15 MB.
   * @default 100_000
   */
  maxKeys?: number
}

const MEMORY_STORE_OPTION_NAMES = ['type', 'maxKeys']

export const DEFAULT_MEMORY_STORE_OPTIONS = {
  type: 'memory',
  maxKeys: 100_000,
} as const satisfies MemoryStoreOptions

type Table = LruMap<number[]>

/**
 * Rule states in process memory: one bounded LRU per rule, keyed by the subject's key part
 * itself. A per-rule table spares every check building and hashing a combined key string (the
 * largest single cost of a check), and a subject string from the request is hashed only once.
 * Nothing expires on a timer: a stale state means the same as none to every algorithm (an old
 * window, a refilled bucket), so it simply waits to be evicted. That keeps per-key cost low and
 * makes any window length safe.
 */
export class MemoryStore implements Store {
  /** By rule id: rules whose definition did not change keep their id, and so their counters. */
  readonly #tables = new Map<string, Table>()
  readonly #maxKeys: number
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
    this.#maxKeys = maxKeys
    this.#clock = clock
  }

  /** Keys currently held, over all rules. */
  get size(): number {
    let size = 0
    for (const table of this.#tables.values()) size += table.size
    return size
  }

  evaluate({ rules, subjectKeys, cost }: EvaluationRequest): Evaluation {
    const input = { now: this.#clock(), cost }
    if (rules.length === 1) {
      return this.#evaluateOne(rules[0] as CompiledRule, subjectKeys[0] as string, input)
    }
    const tables: Table[] = new Array(rules.length)
    const states: (number[] | undefined)[] = new Array(rules.length)
    for (let i = 0; i < rules.length; i++) {
      const table = this.#table(rules[i] as CompiledRule)
      tables[i] = table
      states[i] = table.get(subjectKeys[i] as string)
    }
    const verdicts: RuleVerdict[] = new Array(rules.length)
    const next = stepAll(rules, states, input, verdicts)
    if (next) {
      for (let i = 0; i < rules.length; i++) {
        const state = next[i]
        if (state !== undefined) write(tables[i] as Table, subjectKeys[i] as string, states[i], state)
      }
    }
    return { verdicts, degraded: false }
  }

  /**
   * The rule set changed: tables of rules no longer in force are dropped (a rule whose
   * definition is unchanged keeps its id and its table).
   */
  retain(rules: readonly CompiledRule[]): void {
    const live = new Set(rules.map((rule) => rule.id))
    for (const id of this.#tables.keys()) if (!live.has(id)) this.#tables.delete(id)
  }

  /** The common case of one applicable rule, without the bookkeeping of all-or-nothing. */
  #evaluateOne(rule: CompiledRule, subjectKey: string, input: StepInput): Evaluation {
    const table = this.#table(rule)
    const state = table.get(subjectKey)
    const { state: next, decision } = rule.algorithm.step(state, input, rule.params)
    if (decision.allowed) write(table, subjectKey, state, next)
    return { verdicts: [decision], degraded: false }
  }

  #table(rule: CompiledRule): Table {
    let table = this.#tables.get(rule.id)
    if (table === undefined) {
      table = new LruMap(this.#maxKeys)
      this.#tables.set(rule.id, table)
    }
    return table
  }

  async close(): Promise<void> {
    this.#tables.clear()
  }
}

function write(table: Table, key: string, current: number[] | undefined, state: AlgorithmState): void {
  if (current === undefined || current.length !== state.length) {
    table.set(key, state as number[])
    return
  }
  // The entry was just read (and so refreshed); updating in place spares a second lookup.
  for (let i = 0; i < state.length; i++) current[i] = state[i] as number
}
