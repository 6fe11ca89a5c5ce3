import type { RuleVerdict } from '../algorithm'
import type { CompiledRule } from '../rules/compiled-rule'
import type { RuleSet } from '../rules/rule-set'
import type { CheckRecord } from './check-record'

/** Everything a store needs to decide one request against its applicable rules. */
export interface EvaluationRequest {
  readonly rules: readonly CompiledRule[]
  /** `subjectKeys[i]` is the subject's key part for `rules[i]`. */
  readonly subjectKeys: readonly string[]
  readonly cost: number
  /**
   * The limiter's rule set when every rule in it applies, and then `rules` is `ruleSet.rules`;
   * undefined otherwise (some rule did not apply, or an override's variant stands in). A store
   * may keep what it derives from the rules on it (see `RuleSet.derived`); one that does not
   * need it ignores it.
   */
  readonly ruleSet?: RuleSet | undefined
}

export interface Evaluation {
  /** `verdicts[i]` is `rules[i]`'s verdict. */
  readonly verdicts: readonly RuleVerdict[]
  /** True when a shared store could not be reached and the verdicts were taken locally. */
  readonly degraded: boolean
}

/**
 * Where rule states live. A store evaluates all applicable rules of one request together and
 * keeps the all-or-nothing promise: states change only if every enforcing rule allows.
 * A store never rejects because its backend failed; it answers degraded instead. Any method
 * may answer at once or later: whatever has a callable `then` (a `Promise` or another library's
 * thenable) is waited for, anything else is the answer (see src/maybe-async.ts). Answer at
 * once when you can: a check on a store that does is decided in the same tick.
 */
export interface Store {
  evaluate(request: EvaluationRequest): Evaluation | PromiseLike<Evaluation>
  /**
   * `evaluate` for a store that always decides at once and is never degraded: writes the
   * verdicts into `check.verdicts` (as many as `check.rules`) and keeps nothing of `check`, nor
   * of the verdicts, which the caller reads before it evaluates again. The limiter then reuses
   * one record for every check (see `CheckRecord`). Optional: without it, `evaluate` is used.
   *
   * A plain name rather than a `Symbol()` key for the reason `Limiter.checkNow` gives.
   *
   * @internal For Diana's memory store; not part of the public API, and it may change in any release.
   */
  evaluateInto?(check: CheckRecord): void
  /**
   * What `evaluate` would answer now, changing nothing: no state written, no block started.
   * Optional; `limiter.peek` is a TypeError on a store without it. (A method rather than a flag
   * on the request, so that a store written before it cannot consume quota on a peek.)
   */
  peek?(request: EvaluationRequest): Evaluation | PromiseLike<Evaluation>
  /**
   * Forgets the state of `rules[i]` for `subjectKeys[i]`, and any block on it. Never rejects
   * because its backend failed. Optional; `limiter.reset` is a TypeError on a store without it.
   */
  reset?(rules: readonly CompiledRule[], subjectKeys: readonly string[]): void | PromiseLike<void>
  /**
   * Gives back up to `cost` units to `rules[i]` for `subjectKeys[i]`, each rule on its own, as
   * its algorithm's `refund` says. Never rejects because its backend failed. Optional;
   * `limiter.refund` is a TypeError on a store without it.
   *
   * `heldMs`: how long ago (ms, on the caller's monotonic clock) the units were taken, passed
   * on to the algorithms' `refund`; a Decision's `release()` gives it for the permit rules of
   * its check (see `Algorithm.permits`), and it is undefined for a plain `limiter.refund`.
   *
   * `degraded`: the units were taken by a degraded evaluation, so they live only in the local
   * state that answered it; a shared backend never took them and must not give them back (it
   * would free units another request holds).
   */
  refund?(
    rules: readonly CompiledRule[],
    subjectKeys: readonly string[],
    cost: number,
    heldMs?: number,
    degraded?: boolean,
  ): void | PromiseLike<void>
  /**
   * Told the rules now in force after every rule-set change, so a store holding state per rule
   * can release what belongs to rules that are gone. Optional.
   */
  retain?(rules: readonly CompiledRule[]): void
  close(): Promise<void>
}
