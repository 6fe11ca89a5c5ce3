import type { RuleVerdict } from '../algorithm'
import type { CompiledRule } from '../rules/compiled-rule'
import type { AdaptiveGate } from './adaptive-gate'
import { AdaptiveGateTable } from './adaptive-gate-table'
import { concurrencyVerdict } from './concurrency-verdict'
import { capFor, DEFAULT_PRIORITY_SHARES, type Priority } from './priority'

/**
 * A subject's `priority`: anything but `critical` or `sheddable` is `normal`, so a value nobody
 * expected can never raise a request's share.
 */
export function priorityOf(value: unknown): Priority {
  return value === 'critical' || value === 'sheddable' ? value : 'normal'
}

/**
 * The state of a limiter's `adaptive-concurrency` rules in this process: one table of gates per
 * rule, by fingerprint, so that a reload which keeps a rule keeps what it learned.
 */
export class AdaptiveRules {
  readonly #tables = new Map<string, AdaptiveGateTable>()

  gate(rule: CompiledRule, key: string, now: number): AdaptiveGate {
    let table = this.#tables.get(rule.fingerprint)
    if (table === undefined) {
      table = new AdaptiveGateTable({
        limit: { maxLimit: rule.params.limit, minLimit: rule.rule.minLimit ?? 1 },
        holdMs: rule.params.windowMs,
      })
      this.#tables.set(rule.fingerprint, table)
    }
    return table.gate(key, now)
  }

  /** What the gate of `key` would answer a request of `priority` now, taking nothing. */
  peek(rule: CompiledRule, key: string, priority: Priority, now: number): RuleVerdict {
    const gate = this.gate(rule, key, now)
    const remaining = gate.remaining(priority)
    return concurrencyVerdict({
      allowed: remaining > 0,
      remaining: Math.max(0, remaining - 1),
      inFlight: gate.inFlight,
      latencyMs: gate.limit.latencyMs,
    })
  }

  /** Forgets the tables of rules no longer in force (variants included). */
  retain(rules: readonly CompiledRule[]): void {
    const kept = new Set(rules.map((rule) => rule.fingerprint))
    for (const fingerprint of this.#tables.keys())
      if (!kept.has(fingerprint)) this.#tables.delete(fingerprint)
  }
}

/** The limit a decision bound by an adaptive rule reports: the requester's share of the learned limit. */
export function shareOf(gate: AdaptiveGate, priority: Priority): number {
  return capFor(gate.limit.limit, DEFAULT_PRIORITY_SHARES[priority])
}
