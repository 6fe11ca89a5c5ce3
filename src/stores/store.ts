import type { RuleVerdict } from '../algorithm'
import type { CompiledRule } from '../rules/compiled-rule'

/** Everything a store needs to decide one request against its applicable rules. */
export interface EvaluationRequest {
  readonly rules: readonly CompiledRule[]
  /** `subjectKeys[i]` is the subject's key part for `rules[i]`. */
  readonly subjectKeys: readonly string[]
  readonly cost: number
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
   */
  refund?(
    rules: readonly CompiledRule[],
    subjectKeys: readonly string[],
    cost: number,
  ): void | PromiseLike<void>
  /**
   * Told the rules now in force after every rule-set change, so a store holding state per rule
   * can release what belongs to rules that are gone. Optional.
   */
  retain?(rules: readonly CompiledRule[]): void
  close(): Promise<void>
}
