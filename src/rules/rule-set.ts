import type { CompiledRule } from './compiled-rule'

/**
 * Something that keeps what it derives from a rule set on the rule set itself: the memory
 * store its tables, the Redis store's local fallback its scaled shares.
 */
export interface RuleSetDeriver<T> {
  /**
   * Changes whenever what this deriver derived before may have gone stale (the memory store:
   * after `retain` may have dropped tables), so the rule set derives anew.
   */
  readonly derivation: number
  derive(rules: readonly CompiledRule[]): T
}

/**
 * The rules in force, built once per rule change (`createLimiter`, `setRules`) and never
 * changed: `setRules` builds a new one. When every rule applies to a check, the limiter hands
 * the store this object (`EvaluationRequest.ruleSet`), so a store finds what it derived from
 * these rules (a table per rule, say) in one field read instead of a lookup per rule. What is
 * derived lives and dies with the rule set: nothing is cached by identity in the store.
 *
 * It keeps the derivation of one deriver, the last that asked: a limiter has one store, so
 * another deriver asking is an exception that costs only a fresh derivation.
 */
export class RuleSet {
  readonly rules: readonly CompiledRule[]
  #deriver: RuleSetDeriver<unknown> | undefined
  #derivation = 0
  #derived: unknown

  constructor(rules: readonly CompiledRule[]) {
    this.rules = [...rules]
  }

  /** What `deriver` derives from these rules, derived on the first call and kept until it changes. */
  derived<T>(deriver: RuleSetDeriver<T>): T {
    if (this.#deriver !== deriver || this.#derivation !== deriver.derivation) {
      this.#derived = deriver.derive(this.rules)
      this.#deriver = deriver
      this.#derivation = deriver.derivation
    }
    // Made by this very deriver (checked above), so it is its T.
    return this.#derived as T
  }
}
