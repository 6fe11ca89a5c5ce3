import type { HeaderStyle } from '../../src/config/response-schema'
import type { Decision } from '../../src/decision'

export type { HeaderStyle } from '../../src/config/response-schema'

export type SetHeader<T> = (target: T, name: string, value: string) => void

/** Milliseconds → whole seconds, rounded up (headers never promise earlier than the truth). */
export function wholeSeconds(ms: number): number {
  return ms > 0 ? Math.ceil(ms / 1000) : 0
}

/**
 * Writes the headers describing the binding rule of `decision`: the IETF draft pair
 * `RateLimit-Policy: "name";q=L;w=W` and `RateLimit: "name";r=R;t=T`, and/or the legacy
 * `X-RateLimit-Limit/Remaining/Reset` (Reset in seconds from now). Nothing when no rule applied.
 */
export function writeRateLimitHeaders<T>(
  decision: Decision,
  windowMs: number | undefined,
  style: HeaderStyle,
  target: T,
  set: SetHeader<T>,
  policies: PolicyCache,
): void {
  const rule = decision.rule
  if (rule === undefined || style === 'none') return
  const reset = wholeSeconds(decision.resetMs)
  if (style !== 'legacy') {
    if (windowMs !== undefined) set(target, 'RateLimit-Policy', policies.text(rule, decision.limit, windowMs))
    // Rule names are restricted to [A-Za-z0-9_.-], so they are valid sf-strings as they are.
    set(target, 'RateLimit', `"${rule}";r=${decision.remaining};t=${reset}`)
  }
  if (style !== 'draft') {
    set(target, 'X-RateLimit-Limit', String(decision.limit))
    set(target, 'X-RateLimit-Remaining', String(decision.remaining))
    set(target, 'X-RateLimit-Reset', String(reset))
  }
}

/**
 * `RateLimit-Policy` values by rule: the same for every response of a rule, so built once
 * rather than per request. An entry is rebuilt when a reload changes the rule's limit or window.
 */
export class PolicyCache {
  readonly #entries = new Map<string, { limit: number; windowMs: number; text: string }>()

  text(rule: string, limit: number, windowMs: number): string {
    const known = this.#entries.get(rule)
    if (known !== undefined && known.limit === limit && known.windowMs === windowMs) return known.text
    // Rule names come from configuration, so this stays small; the bound guards against churn.
    if (this.#entries.size >= 1000) this.#entries.clear()
    const text = `"${rule}";q=${limit};w=${wholeSeconds(windowMs)}`
    this.#entries.set(rule, { limit, windowMs, text })
    return text
  }
}

/**
 * The lowercase spelling of every header the gate writes. Fastify lowercases every header name
 * it is given; handing it the lowercase name spares a new string per header per request.
 */
export const LOWERCASE_HEADERS: Readonly<Record<string, string>> = {
  'RateLimit-Policy': 'ratelimit-policy',
  RateLimit: 'ratelimit',
  'Retry-After': 'retry-after',
  'X-RateLimit-Limit': 'x-ratelimit-limit',
  'X-RateLimit-Remaining': 'x-ratelimit-remaining',
  'X-RateLimit-Reset': 'x-ratelimit-reset',
}
