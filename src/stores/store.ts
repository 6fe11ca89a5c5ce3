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
 * A store never rejects because its backend failed; it answers degraded instead.
 */
export interface Store {
  evaluate(request: EvaluationRequest): Evaluation | Promise<Evaluation>
  /**
   * Told the rules now in force after every rule-set change, so a store holding state per rule
   * can release what belongs to rules that are gone. Optional.
   */
  retain?(rules: readonly CompiledRule[]): void
  close(): Promise<void>
}
