import type { RuleVerdict } from '../../algorithm'
import type { Clock } from '../../clock'
import type { CompiledRule } from '../../rules/compiled-rule'
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
export class LocalFallback {
  readonly #store: MemoryStore
  readonly #scaled = new WeakMap<CompiledRule, { instances: number; rule: CompiledRule }>()
  #instances = 1
  /**
   * The shares of the last frozen rule list `charge` saw (the limiter's whole rule set, passed
   * as is when every rule applies), for that instance count: frozen too, so that the memory
   * store finds their tables without a lookup. Other lists are mapped into `#sharesScratch`.
   */
  #sharesOf: readonly CompiledRule[] | undefined
  #sharesFor = 0
  #shares: readonly CompiledRule[] = []
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

  evaluate({ rules, subjectKeys, cost }: EvaluationRequest): Evaluation {
    const local: CompiledRule[] = new Array(rules.length)
    for (let i = 0; i < rules.length; i++) local[i] = this.#share(rules[i] as CompiledRule)
    const { verdicts } = this.#store.evaluate({ rules: local, subjectKeys, cost })
    return { verdicts, degraded: true }
  }

  /** What {@link evaluate} would answer, changing nothing (see `Store.peek`). */
  peek({ rules, subjectKeys, cost }: EvaluationRequest): Evaluation {
    const { verdicts } = this.#store.peek({ rules: this.#sharesOfRules(rules), subjectKeys, cost })
    return { verdicts, degraded: true }
  }

  /** Forgets the local shares' states of these keys, and their blocks (see `Store.reset`). */
  reset(rules: readonly CompiledRule[], subjectKeys: readonly string[]): void {
    // Shares keep their rule's fingerprint, so the rules themselves find the tables.
    this.#store.reset(rules, subjectKeys)
  }

  /** Gives units back to the local shares, each as far as it holds them (see `Store.refund`). */
  refund(rules: readonly CompiledRule[], subjectKeys: readonly string[], cost: number): void {
    this.#store.refund(this.#sharesOfRules(rules), subjectKeys, cost)
  }

  /**
   * Takes from the local shares what Redis admitted for one check, rule by rule, as far as
   * they hold it (a share used up stays at empty; nothing is owed beyond it).
   */
  charge({ rules, subjectKeys, cost }: EvaluationRequest, verdicts: readonly RuleVerdict[]): void {
    this.#store.charge(this.#sharesOfRules(rules), subjectKeys, cost, verdicts)
  }

  /** Drops the local tables of rules no longer in force (see `Store.retain`). */
  retain(rules: readonly CompiledRule[]): void {
    this.#sharesOf = undefined
    this.#shares = []
    this.#sharesScratch.length = 0
    this.#store.retain(rules)
  }

  close(): Promise<void> {
    return this.#store.close()
  }

  #sharesOfRules(rules: readonly CompiledRule[]): readonly CompiledRule[] {
    if (rules === this.#sharesOf && this.#sharesFor === this.#instances) return this.#shares
    if (Object.isFrozen(rules)) {
      this.#shares = Object.freeze(rules.map((rule) => this.#share(rule)))
      this.#sharesOf = rules
      this.#sharesFor = this.#instances
      return this.#shares
    }
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
