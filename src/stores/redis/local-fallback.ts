import type { RuleVerdict } from '../../algorithm'
import type { Clock } from '../../clock'
import type { CompiledRule } from '../../rules/compiled-rule'
import { RuleSet, type RuleSetDeriver } from '../../rules/rule-set'
import { MemoryStore } from '../memory-store'
import type { Evaluation, EvaluationRequest } from '../store'

/**
 * Limits locally while Redis is away. Every live instance gets an equal share of each rule:
 * the limit (and burst) divided by the number of Diana instances last seen in Redis, or the
 * rule's explicit `fallbackLimit` (with the burst scaled alike). Together the fleet then
 * admits about what the shared limit would have, without talking to each other.
 *
 * While Redis answers, what it admits is charged to the local shares too ({@link charge}), so
 * a share is not full again each time Redis fails: an instance that has used its share of a
 * limit through Redis has none of it left locally, and brief outages (or checks that time out
 * on a busy host) do not hand each instance a fresh share on top of the shared quota.
 */
export class LocalFallback implements RuleSetDeriver<RuleSet> {
  readonly #store: MemoryStore
  readonly #scaled = new WeakMap<CompiledRule, { instances: number; rule: CompiledRule }>()
  #instances = 1
  /** The shares of a list that is not a rule set, reused from check to check. */
  readonly #sharesScratch: CompiledRule[] = []

  constructor(clock: Clock, maxKeys: number) {
    this.#store = new MemoryStore({ maxKeys }, clock)
  }

  /** Live instances last seen (at least 1). */
  get instances(): number {
    return this.#instances
  }

  set instances(count: number) {
    this.#instances = Math.max(1, Math.floor(count))
  }

  /** Shares are made anew when the instance count changes (see {@link derive}). */
  get derivation(): number {
    return this.#instances
  }

  /**
   * The shares of a whole rule set, kept on it (`RuleSet.derived`) as a rule set of their own,
   * so that the memory store finds their tables without a lookup.
   */
  derive(rules: readonly CompiledRule[]): RuleSet {
    return new RuleSet(rules.map((rule) => this.#share(rule)))
  }

  evaluate(request: EvaluationRequest): Evaluation {
    const { verdicts } = this.#store.evaluate(this.#local(request))
    return { verdicts, degraded: true }
  }

  /** What {@link evaluate} would answer, changing nothing (see `Store.peek`). */
  peek(request: EvaluationRequest): Evaluation {
    const { verdicts } = this.#store.peek(this.#local(request))
    return { verdicts, degraded: true }
  }

  /** Forgets the local shares' states of these keys, and their blocks (see `Store.reset`). */
  reset(rules: readonly CompiledRule[], subjectKeys: readonly string[]): void {
    // Shares keep their rule's fingerprint, so the rules themselves find the tables.
    this.#store.reset(rules, subjectKeys)
  }

  /** Gives units back to the local shares, each as far as it holds them (see `Store.refund`). */
  refund(
    rules: readonly CompiledRule[],
    subjectKeys: readonly string[],
    cost: number,
    heldMs?: number,
  ): void {
    this.#store.refund(this.#sharesOfList(rules), subjectKeys, cost, heldMs)
  }

  /**
   * Takes up to `units` from the local share of one rule and subject, as far as the share holds
   * them: what a leased slice took from Redis (see LeaseBook), so that an instance that holds or
   * spent slices falls back with only what is left of its share, as for exact checks.
   */
  take(rule: CompiledRule, subjectKey: string, units: number): void {
    const rules = [this.#share(rule)]
    const subjectKeys = [subjectKey]
    const first = this.#store.evaluate({ rules, subjectKeys, cost: units, ruleSet: undefined })
    const verdict = first.verdicts[0] as RuleVerdict
    if (verdict.allowed || !(verdict.remaining > 0)) return
    this.#store.evaluate({ rules, subjectKeys, cost: Math.min(units, verdict.remaining), ruleSet: undefined })
  }

  /**
   * Takes from the local shares what Redis admitted for one check, rule by rule, as far as
   * they hold it (a share used up stays at empty; nothing is owed beyond it).
   */
  charge({ rules, subjectKeys, cost, ruleSet }: EvaluationRequest, verdicts: readonly RuleVerdict[]): void {
    const shares = ruleSet !== undefined && ruleSet.rules === rules ? ruleSet.derived(this) : undefined
    this.#store.charge(shares ?? this.#sharesOfList(rules), subjectKeys, cost, verdicts)
  }

  /** Drops the local tables of rules no longer in force (see `Store.retain`). */
  retain(rules: readonly CompiledRule[]): void {
    this.#sharesScratch.length = 0
    this.#store.retain(rules)
  }

  close(): Promise<void> {
    return this.#store.close()
  }

  /** `request` with each rule's local share in place of the rule. */
  #local({ rules, subjectKeys, cost, ruleSet }: EvaluationRequest): EvaluationRequest {
    if (ruleSet !== undefined && ruleSet.rules === rules) {
      const shares = ruleSet.derived(this)
      return { rules: shares.rules, subjectKeys, cost, ruleSet: shares }
    }
    return { rules: this.#sharesOfList(rules), subjectKeys, cost, ruleSet: undefined }
  }

  /**
   * The shares of a list that is not a rule set, in an array reused from call to call: the
   * memory store keeps nothing of the list it is given.
   */
  #sharesOfList(rules: readonly CompiledRule[]): readonly CompiledRule[] {
    const scratch = this.#sharesScratch
    scratch.length = rules.length
    for (let i = 0; i < rules.length; i++) scratch[i] = this.#share(rules[i] as CompiledRule)
    return scratch
  }

  #share(rule: CompiledRule): CompiledRule {
    const cached = this.#scaled.get(rule)
    if (cached && cached.instances === this.#instances) return cached.rule
    const explicit = (rule.rule as { fallbackLimit?: number }).fallbackLimit
    const { limit, burst } = rule.params
    const share = explicit ?? Math.max(1, Math.floor(limit / this.#instances))
    const ratio = share / limit
    const scaled: CompiledRule = {
      ...rule,
      params: {
        ...rule.params,
        limit: share,
        burst: burst === undefined || burst === 0 ? burst : Math.max(1, Math.floor(burst * ratio)),
      },
    }
    this.#scaled.set(rule, { instances: this.#instances, rule: scaled })
    return scaled
  }
}
