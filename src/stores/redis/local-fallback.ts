import type { Clock } from '../../clock'
import type { CompiledRule } from '../../rules/compiled-rule'
import { MemoryStore } from '../memory-store'
import type { Evaluation, EvaluationRequest } from '../store'

/**
 * Limits locally while Redis is away. Every live instance gets an equal share of each rule:
 * the limit (and burst) divided by the number of Diana instances last seen in Redis, or the
 * rule's explicit `fallbackLimit` (with the burst scaled alike). Together the fleet then
 * admits about what the shared limit would have, without talking to each other.
 */
export class LocalFallback {
  readonly #store: MemoryStore
  readonly #scaled = new WeakMap<CompiledRule, { instances: number; rule: CompiledRule }>()
  #instances = 1

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
