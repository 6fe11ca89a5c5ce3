import type { Decision } from '../../src/types'

/** Which rate-limit headers responses carry. */
export type HeaderStyle = 'draft' | 'legacy' | 'both' | 'none'

export const HEADER_STYLES: readonly HeaderStyle[] = ['draft', 'legacy', 'both', 'none']

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
): void {
  const rule = decision.rule
  if (rule === undefined || style === 'none') return
  const reset = wholeSeconds(decision.resetMs)
  if (style !== 'legacy') {
    // Rule names are restricted to [A-Za-z0-9_.-], so they are valid sf-strings as they are.
    if (windowMs !== undefined)
      set(target, 'RateLimit-Policy', `"${rule}";q=${decision.limit};w=${wholeSeconds(windowMs)}`)
    set(target, 'RateLimit', `"${rule}";r=${decision.remaining};t=${reset}`)
  }
  if (style !== 'draft') {
    set(target, 'X-RateLimit-Limit', String(decision.limit))
    set(target, 'X-RateLimit-Remaining', String(decision.remaining))
    set(target, 'X-RateLimit-Reset', String(reset))
  }
}
