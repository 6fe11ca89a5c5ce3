import type { RuleVerdict } from '../algorithm'
import type { CompiledRule } from '../rules/compiled-rule'
import type { RuleSet } from '../rules/rule-set'
import type { EvaluationRequest } from './store'

/**
 * One check as the limiter hands it to its store: the request, and room for the verdicts of a
 * store that decides into it (`Store.evaluateInto`). A limiter on such a store (the memory
 * store) reuses one record for every check, so a check allocates no request, key list, verdict
 * list or evaluation. That is safe because such a store decides at once and keeps nothing of
 * the record, and the limiter has folded the verdicts into a fresh `Decision` before anything
 * else (a `decision` listener, say) can start another check.
 */
export class CheckRecord implements EvaluationRequest {
  rules: readonly CompiledRule[] = []
  /** `subjectKeys[i]` is the subject's key part for `rules[i]`. */
  readonly subjectKeys: string[] = []
  cost = 0
  ruleSet: RuleSet | undefined = undefined
  /** Written by `Store.evaluateInto`: `verdicts[i]` is `rules[i]`'s verdict. */
  readonly verdicts: RuleVerdict[] = []
}
