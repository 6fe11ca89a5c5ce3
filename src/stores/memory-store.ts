import { type AlgorithmState, blankVerdict, type RuleVerdict, refundOf } from '../algorithm'
import type { Clock } from '../clock'
import type { CompiledRule } from '../rules/compiled-rule'
import { RuleSet, type RuleSetDeriver } from '../rules/rule-set'
import { readOptions } from '../schema/read-options'
import type { CheckRecord } from './check-record'
import { CheckScratch, type RuleScratch } from './check-scratch'
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
export class MemoryStore implements Store, RuleSetDeriver<readonly Table[]> {
  /** By rule fingerprint: rules whose definition did not change keep it, and so their counters. */
  readonly #tables = new Map<string, Table>()
  /** Tables of rules no longer in force, by fingerprint, with the time they left (see `retain`). */
  readonly #retired = new Map<string, { table: Table; since: number }>()
  readonly #maxKeys: number
  readonly #scratch = new CheckScratch()
  /** Moves on whenever tables may have been dropped, so rule sets find theirs anew (see `derive`). */
  #derivation = 0
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

  /** See {@link RuleSetDeriver.derivation}. */
  get derivation(): number {
    return this.#derivation
  }

  /**
   * The table of each rule of a rule set, by position: kept on the rule set (`RuleSet.derived`),
   * so a check on the limiter's whole rule set finds its tables without a lookup per rule.
   */
  derive(rules: readonly CompiledRule[]): readonly Table[] {
    return rules.map((rule) => this.#table(rule))
  }

  evaluate(request: EvaluationRequest): Evaluation {
    const verdicts: RuleVerdict[] = new Array(request.rules.length)
    this.#evaluate(request, false, verdicts, false)
    return { verdicts, degraded: false }
  }

  /** {@link evaluate} into `check`, in verdicts it reuses (see `Store.evaluateInto`). */
  evaluateInto(check: CheckRecord): void {
    const verdicts = check.verdicts
    if (verdicts.length !== check.rules.length) verdicts.length = check.rules.length
    this.#evaluate(check, false, verdicts, true)
  }

  /** What {@link evaluate} would answer now, changing nothing (see `Store.peek`). */
  peek(request: EvaluationRequest): Evaluation {
    const verdicts: RuleVerdict[] = new Array(request.rules.length)
    this.#evaluate(request, true, verdicts, false)
    return { verdicts, degraded: false }
  }

  /**
   * Decides `rules` into `verdicts`: fresh verdict objects, or, when `reuse`, the working
   * space's own (the caller then reads them before the next check). The usual check, which
   * every rule allows, is stepped and written here; any denial goes to `#settle`. Kept
   * small so that the compiler inlines it and what it calls into the check.
   */
  #evaluate(request: EvaluationRequest, peek: boolean, verdicts: RuleVerdict[], reuse: boolean): void {
    const { rules, subjectKeys, cost } = request
    const now = this.#clock()
    // Without this, a removed rule's table would live until the next rule change.
    if (this.#retired.size !== 0) this.#pruneRetired(now)
    const count = rules.length
    const tables = this.#tablesOf(rules, request.ruleSet)
    const scratch = this.#scratch
    let denied = false
    for (let i = 0; i < count; i++) {
      const rule = rules[i] as CompiledRule
      const table = tables === undefined ? this.#table(rule) : (tables[i] as Table)
      const at = scratch.at(i, table, rule.algorithm.stateSize)
      const verdict = this.#step(
        rule,
        at,
        subjectKeys[i] as string,
        now,
        cost,
        reuse ? at.verdict : undefined,
      )
      verdicts[i] = verdict
      if (!verdict.allowed || rule.blockMs !== undefined) denied = true
    }
    if (denied) this.#settle(rules, subjectKeys, verdicts, now, peek)
    else if (!peek) for (let i = 0; i < count; i++) scratch.rule(i).write(subjectKeys[i] as string)
  }

  /**
   * The rest of a check that some rule denied, or whose rules have `blockFor`: blocks found and
   * started, and all or nothing. A request consumes quota only if every enforcing (non-shadow)
   * rule allows it, and then only in the rules that allowed it (a shadow rule that would deny
   * counts nothing).
   */
  #settle(
    rules: readonly CompiledRule[],
    subjectKeys: readonly string[],
    verdicts: readonly RuleVerdict[],
    now: number,
    peek: boolean,
  ): void {
    const scratch = this.#scratch
    let admitted = true
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule
      const verdict = verdicts[i] as RuleVerdict
      const at = scratch.rule(i)
      at.blocked =
        rule.blockMs !== undefined &&
        this.#blocked(rule, at.table, subjectKeys[i] as string, verdict, now, peek)
      if (!verdict.allowed && !rule.shadow) admitted = false
    }
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule
      const verdict = verdicts[i] as RuleVerdict
      const at = scratch.rule(i)
      // A key already blocked takes nothing and moves nothing on.
      if (at.blocked) continue
      const key = subjectKeys[i] as string
      if (!verdict.allowed) {
        if (!peek) keepIfChanged(rule, at, key)
        if (rule.blockMs !== undefined) this.#startBlock(rule, at.table, key, verdict, now, peek)
      } else if (admitted && !peek) {
        at.write(key)
      }
    }
  }

  /** The tables of `rules` by position when they are a rule set's (else undefined: one lookup each). */
  #tablesOf(rules: readonly CompiledRule[], ruleSet: RuleSet | undefined): readonly Table[] | undefined {
    return ruleSet !== undefined && ruleSet.rules === rules ? ruleSet.derived(this) : undefined
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
  refund(
    rules: readonly CompiledRule[],
    subjectKeys: readonly string[],
    cost: number,
    heldMs?: number,
  ): void {
    for (const rule of rules) refundOf(rule)
    const now = this.#clock()
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule
      const table = this.#tables.get(rule.fingerprint)
      if (table === undefined) continue
      const key = subjectKeys[i] as string
      const current = this.#scratch.at(0, table, rule.algorithm.stateSize).current
      const slot = table.read(key, current)
      if (slot < 0) continue
      const next = refundOf(rule)(current, now, cost, rule.params, heldMs)
      if (next !== undefined) table.write(key, slot, checkedState(rule, next))
    }
  }

  /**
   * Takes `cost` from each rule on its own, as far as its state holds it: no all-or-nothing, and
   * a rule that would deny stays as it is (nothing is owed beyond empty). Rule `i` is skipped
   * when `only[i].allowed` is false. For the Redis store's local fallback, which charges its
   * shares with what Redis admitted on every check; so it reads the clock once, makes no
   * verdicts or evaluations, and, given a {@link RuleSet}, finds its tables without a lookup.
   */
  charge(
    rules: readonly CompiledRule[] | RuleSet,
    subjectKeys: readonly string[],
    cost: number,
    only?: readonly { readonly allowed: boolean }[],
  ): void {
    const now = this.#clock()
    if (this.#retired.size !== 0) this.#pruneRetired(now)
    const list = rules instanceof RuleSet ? rules.rules : rules
    const tables = rules instanceof RuleSet ? rules.derived(this) : undefined
    for (let i = 0; i < list.length; i++) {
      if (only !== undefined && !(only[i] as { allowed: boolean }).allowed) continue
      const rule = list[i] as CompiledRule
      const key = subjectKeys[i] as string
      const table = tables === undefined ? this.#table(rule) : (tables[i] as Table)
      const at = this.#scratch.at(0, table, rule.algorithm.stateSize)
      if (this.#step(rule, at, key, now, cost, at.verdict).allowed) at.write(key)
      else keepIfChanged(rule, at, key)
    }
  }

  /**
   * Steps `rule` for `subjectKey` and returns its verdict, leaving the key's slot and the next
   * state in `at`. The verdict is written into `into` when given, else made anew (it is handed
   * to the caller).
   */
  #step(
    rule: CompiledRule,
    at: RuleScratch,
    subjectKey: string,
    now: number,
    cost: number,
    into: RuleVerdict | undefined,
  ): RuleVerdict {
    const slot = at.table.read(subjectKey, at.current)
    at.slot = slot
    const state = slot < 0 ? undefined : at.current
    const stepInto = rule.algorithm.stepInto
    if (stepInto === undefined) return stepPure(rule, at, state, now, cost)
    const verdict = into ?? blankVerdict()
    stepInto(state, now, cost, rule.params, at.spare, verdict)
    at.next = at.spare
    return verdict
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
    this.#forgetTables()
  }

  /** Drops the retired tables whose grace period is over. */
  #pruneRetired(now: number): void {
    for (const [id, retired] of this.#retired) {
      if (now - retired.since >= RETIRED_RULE_GRACE_MS) this.#retired.delete(id)
    }
  }

  /**
   * Tables may have been dropped: rule sets derive theirs anew, and the working space lets go
   * of them, so neither keeps a dropped table (or its states) alive or writes into it.
   */
  #forgetTables(): void {
    this.#derivation++
    this.#scratch.clear()
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
    this.#forgetTables()
  }
}

/** A registered algorithm's `step`, for one without `stepInto`. */
function stepPure(
  rule: CompiledRule,
  at: RuleScratch,
  state: AlgorithmState | undefined,
  now: number,
  cost: number,
): RuleVerdict {
  const result = rule.algorithm.step(state, { now, cost }, rule.params)
  at.next = checkedState(rule, result.state)
  return result.decision
}

/**
 * A denying rule consumes nothing, but its step may have moved the key's state on without
 * consuming: after the clock stepped back, a bucket re-anchors its time to now. That is kept,
 * so that the wait the denial reported holds. A denial never creates a key.
 */
function keepIfChanged(rule: CompiledRule, at: RuleScratch, subjectKey: string): void {
  if (at.slot < 0) return
  const { current, next } = at
  for (let j = 0; j < rule.algorithm.stateSize; j++) {
    if (current[j] !== next[j]) {
      at.table.write(subjectKey, at.slot, next)
      return
    }
  }
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
