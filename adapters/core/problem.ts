import type { Decision } from '../../src/decision'
import { wholeSeconds } from './headers'

/** The media type of RFC 9457 problem details. */
export const PROBLEM_JSON = 'application/problem+json'

/**
 * Problem types are `tag:` URIs (RFC 4151), which RFC 9457 allows when a type is meant to be
 * compared, not dereferenced; they never change.
 */
export const PROBLEM_TYPES = {
  rateLimited: 'tag:diana-limiter,2025:rate-limited',
  storeUnavailable: 'tag:diana-limiter,2025:store-unavailable',
} as const

const TITLES: Record<number, string> = { 429: 'Too Many Requests', 503: 'Service Unavailable' }

/**
 * How a denying rule counts, for the problem's `detail`: `windowMs` of a rate rule, or
 * `'at-once'` for a rule that limits requests in flight.
 */
export type LimitSpan = number | 'at-once' | undefined

/** The body of a denied response: type, title, status, detail, the rule and the wait. */
export function rateLimitedProblem(decision: Decision, status: number, span?: LimitSpan): string {
  const retryAfter = wholeSeconds(decision.retryAfterMs)
  return JSON.stringify({
    type: PROBLEM_TYPES.rateLimited,
    title: TITLES[status] ?? 'Too Many Requests',
    status,
    detail: `Rate limit "${decision.rule ?? ''}" exceeded: at most ${decision.limit} requests ${spanText(span)}. Retry in ${retryAfter} s.`,
    rule: decision.rule,
    limit: decision.limit,
    retryAfter,
  })
}

/** `per 10 s`, `per 1 min`, `at once`; `per window` when the window is not known. */
function spanText(span: LimitSpan): string {
  if (span === 'at-once') return 'at once'
  if (span === undefined || !(span > 0)) return 'per window'
  const units: Array<[number, string]> = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ]
  for (const [ms, unit] of units) if (span >= ms && span % ms === 0) return `per ${span / ms} ${unit}`
  return span >= 1000 ? `per ${Number((span / 1000).toFixed(3))} s` : `per ${span} ms`
}

/** The body when the shared store failed and the limiter is set to fail closed. */
export function storeUnavailableProblem(): string {
  return JSON.stringify({
    type: PROBLEM_TYPES.storeUnavailable,
    title: TITLES[503],
    status: 503,
    detail: 'The rate limiter cannot reach its store and is configured to refuse requests meanwhile.',
  })
}
