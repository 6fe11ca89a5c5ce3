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
  // One-rule requests for `charge`, reused: the memory store keeps nothing of them.
  readonly #oneRule: CompiledRule[] = []
  readonly #oneKey: string[] = []

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

  /**
   * Takes from the local shares what Redis admitted for one check, rule by rule, as far as
   * they hold it (a share used up stays at empty; nothing is owed beyond it).
   */
  charge({ rules, subjectKeys, cost }: EvaluationRequest, verdicts: readonly RuleVerdict[]): void {
    for (let i = 0; i < rules.length; i++) {
      if (!(verdicts[i] as RuleVerdict).allowed) continue
      this.#oneRule[0] = this.#share(rules[i] as CompiledRule)
      this.#oneKey[0] = subjectKeys[i] as string
      this.#store.evaluate({ rules: this.#oneRule, subjectKeys: this.#oneKey, cost })
    }
  }

  /** Drops the local tables of rules no longer in force (see `Store.retain`). */
  retain(rules: readonly CompiledRule[]): void {
    this.#store.retain(rules)
  }

  close(): Promise<void> {
    return this.#store.close()
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
