import { type AlgorithmState, blankVerdict, type RuleVerdict, refundOf } from '../algorithm'
import type { Clock } from '../clock'
import type { CompiledRule } from '../rules/compiled-rule'
import { readOptions } from '../schema/read-options'
import {
  DEFAULT_MEMORY_STORE_OPTIONS,
  type MemoryStoreOptions,
  memoryStoreSchema,
} from './memory-store-options'
import { StateTable } from './state-table'
import type { Evaluation, EvaluationRequest, Store } from './store'

export {
  DEFAULT_MEMORY_STORE_OPTIONS,
  type MemoryStoreOptions,
  memoryStoreSchema,
} from './memory-store-options'

type Table = StateTable

/**
 * How long, on the store's clock, the state of a rule that left the rule set is kept in case it
 * comes back with the same definition: a file saved in two steps, or a rule cut mid-number by a
 * partial copy, is in force for a moment and must not cost the counters of the complete one.
 */
const RETIRED_RULE_GRACE_MS = 10_000

/**
 * Rule states in process memory: one bounded LRU per rule, keyed by the subject's key part
 * itself. A per-rule table spares every check building and hashing a combined key string (the
 * largest single cost of a check), and a subject string from the request is hashed only once.
 * Nothing expires on a timer: a stale state means the same as none to every algorithm (an old
 * window, a refilled bucket), so it simply waits to be evicted. That keeps per-key cost low and
 * makes any window length safe.
 */
export class MemoryStore implements Store {
  /** By rule fingerprint: rules whose definition did not change keep it, and so their counters. */
  readonly #tables = new Map<string, Table>()
  /** Tables of rules no longer in force, by fingerprint, with the time they left (see `retain`). */
  readonly #retired = new Map<string, { table: Table; since: number }>()
  readonly #maxKeys: number
  // Per-evaluation working space, by position in the applicable rules (see `#step`).
  readonly #tablesAt: Table[] = []
  readonly #slotsAt: number[] = []
  readonly #nextAt: AlgorithmState[] = []
  /** Rows the current states are read into, and rows `stepInto` writes next states into. */
  readonly #currentAt: number[][] = []
  readonly #spareAt: number[][] = []
  /** Whether the key at each position was found under a `blockFor` penalty. */
  readonly #blockedAt: boolean[] = []
  /** The verdict `charge` steps into: nobody sees it. */
  readonly #chargeVerdict: RuleVerdict = blankVerdict()
  #lastRules: readonly CompiledRule[] | undefined
  #lastTables: readonly Table[] = []
  readonly #clock: Clock

  constructor(options: Partial<MemoryStoreOptions>, clock: Clock) {
    const read = readOptions(memoryStoreSchema, { type: 'memory', ...options }, 'store')
    const maxKeys = read.maxKeys ?? DEFAULT_MEMORY_STORE_OPTIONS.maxKeys
    this.#maxKeys = maxKeys
    this.#clock = clock
  }

  /** Keys currently held, over all rules. */
  get size(): number {
    let size = 0
    for (const table of this.#tables.values()) size += table.size
    return size
  }

  /** Keys still held for rules no longer in force, until their grace period is over. */
  get retiredSize(): number {
    let size = 0
    for (const retired of this.#retired.values()) size += retired.table.size
    return size
  }

  evaluate(request: EvaluationRequest): Evaluation {
    return this.#evaluate(request, false)
  }

  /** What {@link evaluate} would answer now, changing nothing (see `Store.peek`). */
  peek(request: EvaluationRequest): Evaluation {
    return this.#evaluate(request, true)
  }

  #evaluate({ rules, subjectKeys, cost }: EvaluationRequest, peek: boolean): Evaluation {
    const now = this.#clock()
    // Without this, a removed rule's table would live until the next rule change.
    if (this.#retired.size !== 0) this.#pruneRetired(now)
    const count = rules.length
    if (count === 1) {
      // The common case of one applicable rule, without the bookkeeping of all-or-nothing.
      const rule = rules[0] as CompiledRule
      const key = subjectKeys[0] as string
      const table = this.#table(rule)
      const verdict = this.#step(rule, table, key, 0, now, cost)
      if (rule.blockMs !== undefined) {
        if (this.#blocked(rule, table, key, verdict, now, peek))
          return { verdicts: [verdict], degraded: false }
        if (!verdict.allowed) this.#startBlock(rule, table, key, verdict, now, peek)
      }
      if (peek) return { verdicts: [verdict], degraded: false }
      if (verdict.allowed) table.write(key, this.#slotsAt[0] as number, this.#nextAt[0] as AlgorithmState)
      else this.#keepIfChanged(rule, table, key, 0)
      return { verdicts: [verdict], degraded: false }
    }
    const verdicts: RuleVerdict[] = new Array(count)
    // All or nothing: a request consumes quota only if every enforcing (non-shadow) rule allows
    // it, and then only in the rules that allowed it (a shadow rule that would deny counts nothing).
    let admitted = true
    // Usually the same list of rules as last time: the limiter passes its (frozen) rule set
    // itself when every rule applies, and its tables are then known without a lookup per rule.
    const known = rules === this.#lastRules ? this.#lastTables : undefined
    const tables = this.#tablesAt
    const blocked = this.#blockedAt
    for (let i = 0; i < count; i++) {
      const rule = rules[i] as CompiledRule
      const table = known === undefined ? this.#table(rule) : (known[i] as Table)
      tables[i] = table
      const key = subjectKeys[i] as string
      const verdict = this.#step(rule, table, key, i, now, cost)
      verdicts[i] = verdict
      blocked[i] = rule.blockMs !== undefined && this.#blocked(rule, table, key, verdict, now, peek)
      if (!verdict.allowed && !rule.shadow) admitted = false
    }
    if (known === undefined && Object.isFrozen(rules)) {
      this.#lastRules = rules
      this.#lastTables = tables.slice(0, count)
    }
    for (let i = 0; i < count; i++) {
      const table = tables[i] as Table
      const rule = rules[i] as CompiledRule
      const verdict = verdicts[i] as RuleVerdict
      // A key already blocked takes nothing and moves nothing on.
      if (blocked[i]) continue
      if (!verdict.allowed) {
        if (!peek) this.#keepIfChanged(rule, table, subjectKeys[i] as string, i)
        if (rule.blockMs !== undefined)
          this.#startBlock(rule, table, subjectKeys[i] as string, verdict, now, peek)
      } else if (admitted && !peek) {
        table.write(subjectKeys[i] as string, this.#slotsAt[i] as number, this.#nextAt[i] as AlgorithmState)
      }
    }
    return { verdicts, degraded: false }
  }

  /**
   * Whether `key` is under `rule`'s `blockFor` penalty at `now`; if so `verdict` becomes the
   * block's: denied, nothing remaining, waits at least the block's remaining time (longer when
   * the rule itself would still deny once it ends, as its own verdict says).
   */
  #blocked(
    rule: CompiledRule,
    table: Table,
    key: string,
    verdict: RuleVerdict,
    now: number,
    peek: boolean,
  ): boolean {
    let until = table.blockedUntil(key)
    if (until === 0) return false
    if (until <= now) {
      if (!peek) table.unblock(key)
      return false
    }
    const blockMs = rule.blockMs as number
    // The clock stepped back (or blockFor was shortened): a block lasts at most blockFor from
    // now, never the length of the step.
    if (until - now > blockMs) {
      until = now + blockMs
      if (!peek) table.block(key, until)
    }
    const left = until - now
    verdict.retryAfterMs = Math.max(verdict.allowed ? 0 : verdict.retryAfterMs, left)
    verdict.allowed = false
    verdict.remaining = 0
    verdict.resetMs = Math.max(verdict.resetMs, left)
    verdict.delayMs = 0
    return true
  }

  /** `rule` denied `key` on its own: its `blockFor` penalty starts (a peek only reports it). */
  #startBlock(
    rule: CompiledRule,
    table: Table,
    key: string,
    verdict: RuleVerdict,
    now: number,
    peek: boolean,
  ): void {
    const blockMs = rule.blockMs as number
    if (!peek) table.block(key, now + blockMs)
    verdict.remaining = 0
    verdict.resetMs = Math.max(verdict.resetMs, blockMs)
    verdict.retryAfterMs = Math.max(verdict.retryAfterMs, blockMs)
  }

  /** Forgets each rule's state of its subject key, and any block on it (see `Store.reset`). */
  reset(rules: readonly CompiledRule[], subjectKeys: readonly string[]): void {
    for (let i = 0; i < rules.length; i++) {
      this.#tables.get((rules[i] as CompiledRule).fingerprint)?.remove(subjectKeys[i] as string)
    }
  }

  /**
   * Gives back up to `cost` units to each rule's state of its subject key, each rule on its own,
   * as its algorithm's `refund` says (see `Store.refund`). A key with no state has nothing to
   * give back. A TypeError, before anything changes, when an algorithm has no `refund`.
   */
  refund(rules: readonly CompiledRule[], subjectKeys: readonly string[], cost: number): void {
    for (const rule of rules) refundOf(rule)
    const now = this.#clock()
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule
      const table = this.#tables.get(rule.fingerprint)
      if (table === undefined) continue
      const key = subjectKeys[i] as string
      const current = row(this.#currentAt, 0, rule.algorithm.stateSize)
      const slot = table.read(key, current)
      if (slot < 0) continue
      const next = refundOf(rule)(current, now, cost, rule.params)
      if (next !== undefined) table.write(key, slot, checkedState(rule, next))
    }
  }

  /**
   * Takes `cost` from each rule on its own, as far as its state holds it: no all-or-nothing, and
   * a rule that would deny stays as it is (nothing is owed beyond empty). Rule `i` is skipped
   * when `only[i].allowed` is false. For the Redis store's local fallback, which charges its
   * shares with what Redis admitted on every check; so it reads the clock once, makes no
   * verdicts or evaluations, and finds the tables of a frozen rule list without a lookup.
   */
  charge(
    rules: readonly CompiledRule[],
    subjectKeys: readonly string[],
    cost: number,
    only?: readonly { readonly allowed: boolean }[],
  ): void {
    const now = this.#clock()
    if (this.#retired.size !== 0) this.#pruneRetired(now)
    const count = rules.length
    if (rules !== this.#lastRules && count > 1 && Object.isFrozen(rules)) {
      const tables: Table[] = new Array(count)
      for (let i = 0; i < count; i++) tables[i] = this.#table(rules[i] as CompiledRule)
      this.#lastRules = rules
      this.#lastTables = tables
    }
    const tables = rules === this.#lastRules ? this.#lastTables : undefined
    const verdict = this.#chargeVerdict
    for (let i = 0; i < count; i++) {
      if (only !== undefined && !(only[i] as { allowed: boolean }).allowed) continue
      const rule = rules[i] as CompiledRule
      const key = subjectKeys[i] as string
      const table = tables === undefined ? this.#table(rule) : (tables[i] as Table)
      const allowed = this.#step(rule, table, key, 0, now, cost, verdict).allowed
      if (allowed) table.write(key, this.#slotsAt[0] as number, this.#nextAt[0] as AlgorithmState)
      else this.#keepIfChanged(rule, table, key, 0)
    }
  }

  /**
   * Steps `rule` for `subjectKey` and returns its verdict, leaving the key's slot and the next
   * state at `position` of the working space. That space is reused from call to call: nothing in
   * it outlives one synchronous `evaluate` (steps are pure, so none can check through this store).
   * The verdict is written into `into` when given, else made anew (it is handed to the caller).
   */
  #step(
    rule: CompiledRule,
    table: Table,
    subjectKey: string,
    position: number,
    now: number,
    cost: number,
    into?: RuleVerdict,
  ): RuleVerdict {
    const algorithm = rule.algorithm
    const current = row(this.#currentAt, position, algorithm.stateSize)
    const slot = table.read(subjectKey, current)
    this.#slotsAt[position] = slot
    const state = slot < 0 ? undefined : current
    if (algorithm.stepInto !== undefined) {
      const verdict = into ?? blankVerdict()
      const next = row(this.#spareAt, position, algorithm.stateSize)
      algorithm.stepInto(state, now, cost, rule.params, next, verdict)
      this.#nextAt[position] = next
      return verdict
    }
    const result = algorithm.step(state, { now, cost }, rule.params)
    this.#nextAt[position] = checkedState(rule, result.state)
    return result.decision
  }

  /**
   * A denying rule consumes nothing, but its step may have moved the key's state on without
   * consuming: after the clock stepped back, a bucket re-anchors its time to now. That is kept,
   * so that the wait the denial reported holds. A denial never creates a key.
   */
  #keepIfChanged(rule: CompiledRule, table: Table, subjectKey: string, position: number): void {
    const slot = this.#slotsAt[position] as number
    if (slot < 0) return
    const current = this.#currentAt[position] as number[]
    const next = this.#nextAt[position] as AlgorithmState
    for (let j = 0; j < rule.algorithm.stateSize; j++) {
      if (current[j] !== next[j]) {
        table.write(subjectKey, slot, next)
        return
      }
    }
  }

  /**
   * The rule set changed. A rule whose definition is unchanged keeps its fingerprint and its table; the
   * tables of rules no longer in force are set aside for {@link RETIRED_RULE_GRACE_MS} and
   * taken back if their rule returns meanwhile, then dropped (by the first check or rule
   * change after that).
   */
  retain(rules: readonly CompiledRule[]): void {
    const now = this.#clock()
    const live = new Set(rules.map((rule) => rule.fingerprint))
    for (const [id, retired] of this.#retired) {
      if (now - retired.since >= RETIRED_RULE_GRACE_MS) {
        this.#retired.delete(id)
      } else if (live.has(id)) {
        this.#retired.delete(id)
        this.#tables.set(id, retired.table)
      }
    }
    for (const [id, table] of this.#tables) {
      if (live.has(id)) continue
      this.#tables.delete(id)
      this.#retired.set(id, { table, since: now })
    }
    this.#forgetWorkingSpace()
  }

  /** Drops the retired tables whose grace period is over. */
  #pruneRetired(now: number): void {
    for (const [id, retired] of this.#retired) {
      if (now - retired.since >= RETIRED_RULE_GRACE_MS) this.#retired.delete(id)
    }
  }

  /** So that working space does not keep dropped tables (or their states) alive. */
  #forgetWorkingSpace(): void {
    this.#lastRules = undefined
    this.#lastTables = []
    this.#tablesAt.length = 0
    this.#nextAt.length = 0
  }

  #table(rule: CompiledRule): Table {
    let table = this.#tables.get(rule.fingerprint)
    if (table === undefined) {
      table = new StateTable(this.#maxKeys, rule.algorithm.stateSize)
      this.#tables.set(rule.fingerprint, table)
    }
    return table
  }

  async close(): Promise<void> {
    this.#tables.clear()
    this.#retired.clear()
    this.#forgetWorkingSpace()
  }
}

/** The reused row of `size` numbers at `position` (made, or remade for another size, on demand). */
function row(rows: number[][], position: number, size: number): number[] {
  let found = rows[position]
  if (found === undefined || found.length !== size) {
    found = new Array<number>(size).fill(0)
    rows[position] = found
  }
  return found
}

/** A registered algorithm's `step` must return `stateSize` numbers: the table stores that many. */
function checkedState(rule: CompiledRule, state: AlgorithmState): AlgorithmState {
  if (state.length !== rule.algorithm.stateSize) {
    throw new TypeError(
      `rule "${rule.name}": algorithm "${rule.algorithmName}" returned a state of ${state.length} numbers, but its stateSize is ${rule.algorithm.stateSize}`,
    )
  }
  return state
}
