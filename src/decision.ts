import type { RuleVerdict } from './algorithm'
import type { CompiledRule } from './rules/compiled-rule'

/** The answer to one `check`. Fields describe the binding rule (see the contract). */
export interface Decision {
  allowed: boolean
  /** Name of the binding rule: the one that denied, else the one with least remaining. */
  rule?: string
  /** The binding rule's limit (Infinity when no rule applied). */
  limit: number
  /** The binding rule's remaining quota after this request; a whole number, never negative. */
  remaining: number
  /** Milliseconds until the binding rule's quota is whole again. */
  resetMs: number
  /** 0 when allowed; when denied, milliseconds until the same request could pass. */
  retryAfterMs: number
  /** Leaky-bucket shaping: how long the caller must wait before proceeding (0 otherwise). */
  delayMs: number
  /** True when the decision was taken locally because the shared store failed. */
  degraded: boolean
  /** Names of shadow rules that would have denied this request (absent when none). */
  shadowDenied?: string[]
  /**
   * Present when a `concurrency` or `adaptive-concurrency` rule applied: hands the request's
   * permits back once it is done (the adapters call it when the response finishes or the client
   * goes away). Idempotent; a no-op on a denied decision, which holds none.
   */
  release?: () => void
}

/** The answer when no rule applies: nothing limits this request. A fresh object each time, so callers may annotate it. */
export function unlimited(): Decision {
  return {
    allowed: true,
    rule: undefined,
    limit: Number.POSITIVE_INFINITY,
    remaining: Number.POSITIVE_INFINITY,
    resetMs: 0,
    retryAfterMs: 0,
    delayMs: 0,
    degraded: false,
  }
}

/**
 * Folds per-rule verdicts into one Decision. Denied: the binding rule is the denying one with
 * the longest wait, since the request cannot pass before that. Allowed: the one with the least
 * remaining. Ties go to the rule listed first. Shadow rules never deny; they bind only when no
 * enforcing rule applies, and are reported in `shadowDenied` when they would have denied.
 */
export function decide(
  rules: readonly CompiledRule[],
  verdicts: readonly RuleVerdict[],
  degraded: boolean,
): Decision {
  let binding = -1
  let denied = false
  let delayMs = 0
  let shadowDenied: string[] | undefined
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledRule
    const verdict = verdicts[i] as RuleVerdict
    if (rule.shadow) {
      if (!verdict.allowed) {
        shadowDenied ??= []
        shadowDenied.push(rule.name)
      }
      continue
    }
    if (!verdict.allowed) {
      if (!denied || verdict.retryAfterMs > (verdicts[binding] as RuleVerdict).retryAfterMs) binding = i
      denied = true
    } else if (!denied) {
      if (binding < 0 || isTighter(verdict, verdicts[binding] as RuleVerdict, rules, i, binding)) binding = i
      if (verdict.delayMs > delayMs) delayMs = verdict.delayMs
    }
  }
  if (binding < 0) binding = leastRemaining(rules, verdicts)
  const rule = rules[binding] as CompiledRule
  const verdict = verdicts[binding] as RuleVerdict
  const decision: Decision = {
    allowed: !denied,
    rule: rule.name,
    limit: rule.params.limit,
    remaining: verdict.remaining,
    resetMs: verdict.resetMs,
    retryAfterMs: denied ? verdict.retryAfterMs : 0,
    delayMs: denied ? 0 : delayMs,
    degraded,
  }
  if (shadowDenied) decision.shadowDenied = shadowDenied
  return decision
}

function isTighter(
  candidate: RuleVerdict,
  current: RuleVerdict,
  rules: readonly CompiledRule[],
  i: number,
  j: number,
): boolean {
  if (candidate.remaining !== current.remaining) return candidate.remaining < current.remaining
  return (rules[i] as CompiledRule).index < (rules[j] as CompiledRule).index
}

/** Only shadow rules applied: report the tightest of them, without denying. */
function leastRemaining(rules: readonly CompiledRule[], verdicts: readonly RuleVerdict[]): number {
  let best = 0
  for (let i = 1; i < rules.length; i++) {
    if (isTighter(verdicts[i] as RuleVerdict, verdicts[best] as RuleVerdict, rules, i, best)) best = i
  }
  return best
}
