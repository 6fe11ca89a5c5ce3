import type { AlgorithmState, RuleVerdict, StepInput } from '../algorithm'
import type { CompiledRule } from '../rules/compiled-rule'

/**
 * The commit rule every store follows: a request consumes quota only if every enforcing
 * (non-shadow) rule allows it, and then only in the rules that allowed it (a shadow rule that
 * would deny counts nothing). Returns the states to write, index by index, or undefined for none.
 */
export function stepAll(
  rules: readonly CompiledRule[],
  states: readonly (AlgorithmState | undefined)[],
  input: StepInput,
  verdicts: RuleVerdict[],
): (AlgorithmState | undefined)[] | undefined {
  const next: (AlgorithmState | undefined)[] = new Array(rules.length)
  let admitted = true
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledRule
    const result = rule.algorithm.step(states[i], input, rule.params)
    verdicts[i] = result.decision
    if (result.decision.allowed) next[i] = result.state
    else if (!rule.shadow) admitted = false
  }
  return admitted ? next : undefined
}
