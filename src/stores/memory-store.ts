import { type AlgorithmState, blankVerdict, type RuleVerdict } from '../algorithm'
import type { Clock } from '../clock'
import { hint } from '../did-you-mean'
import type { CompiledRule } from '../rules/compiled-rule'
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
  // Per-evaluation working space, by position in the applicable rules (see `evaluate`).
  readonly #tablesAt: Table[] = []
  readonly #statesAt: (number[] | undefined)[] = []
  readonly #nextAt: AlgorithmState[] = []
  readonly #spareAt: number[][] = []
  #lastRules: readonly CompiledRule[] | undefined
  #lastTables: readonly Table[] = []
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
    const now = this.#clock()
    const count = rules.length
    const verdicts: RuleVerdict[] = new Array(count)
    // Working space reused from call to call: nothing in it outlives this synchronous call
    // (steps are pure, so none of them can check through this store in the meantime).
    const tables = this.#tablesAt
    const states = this.#statesAt
    const nexts = this.#nextAt
    // All or nothing: a request consumes quota only if every enforcing (non-shadow) rule allows
    // it, and then only in the rules that allowed it (a shadow rule that would deny counts nothing).
    let admitted = true
    // Usually the same list of rules as last time: the limiter passes its (frozen) rule set
    // itself when every rule applies, and its tables are then known without a lookup per rule.
    const known = rules === this.#lastRules ? this.#lastTables : undefined
    for (let i = 0; i < count; i++) {
      const rule = rules[i] as CompiledRule
      const table = known === undefined ? this.#table(rule) : (known[i] as Table)
      const state = table.get(subjectKeys[i] as string)
      tables[i] = table
      states[i] = state
      const algorithm = rule.algorithm
      let verdict: RuleVerdict
      if (algorithm.stepInto !== undefined) {
        verdict = blankVerdict()
        const next = this.#spare(i, algorithm.stateSize)
        algorithm.stepInto(state, now, cost, rule.params, next, verdict)
        nexts[i] = next
      } else {
        const result = algorithm.step(state, { now, cost }, rule.params)
        verdict = result.decision
        nexts[i] = result.state
      }
      verdicts[i] = verdict
      if (!verdict.allowed && !rule.shadow) admitted = false
    }
    if (known === undefined && Object.isFrozen(rules)) {
      this.#lastRules = rules
      this.#lastTables = tables.slice(0, count)
    }
    if (admitted) {
      for (let i = 0; i < count; i++) {
        if (!(verdicts[i] as RuleVerdict).allowed) continue
        write(tables[i] as Table, subjectKeys[i] as string, states[i], nexts[i] as AlgorithmState)
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
    this.#forgetWorkingSpace()
  }

  /** So that working space does not keep dropped tables (or their states) alive. */
  #forgetWorkingSpace(): void {
    this.#lastRules = undefined
    this.#lastTables = []
    this.#tablesAt.length = 0
    this.#statesAt.length = 0
    this.#nextAt.length = 0
  }

  /** The reused array `stepInto` writes the next state of the rule at `position` into. */
  #spare(position: number, size: number): number[] {
    let spare = this.#spareAt[position]
    if (spare === undefined || spare.length !== size) {
      spare = new Array<number>(size).fill(0)
      this.#spareAt[position] = spare
    }
    return spare
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
    this.#forgetWorkingSpace()
  }
}

function write(table: Table, key: string, current: number[] | undefined, state: AlgorithmState): void {
  if (current === undefined || current.length !== state.length) {
    // A copy: `state` may be working space, or an array the algorithm still holds.
    table.set(key, state.slice())
    return
  }
  // The entry was just read (and so refreshed); updating in place spares a second lookup.
  for (let i = 0; i < state.length; i++) current[i] = state[i] as number
}
