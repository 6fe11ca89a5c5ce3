import { describe, expect, it } from 'vitest'
import { rateLimitedProblem } from '../../../adapters/core/problem'
import type { Decision } from '../../../src/decision'

const denied = { allowed: false, rule: 'per-account', limit: 2, remaining: 0, retryAfterMs: 7500 } as Decision

const detail = (span?: number | 'at-once') => JSON.parse(rateLimitedProblem(denied, 429, span)).detail

describe('rateLimitedProblem', () => {
  it('says over what span the limit counts, in the largest whole unit', () => {
    expect(detail(10_000)).toBe(
      'Rate limit "per-account" exceeded: at most 2 requests per 10 s. Retry in 8 s.',
    )
    expect(detail(60_000)).toContain('at most 2 requests per 1 min.')
    expect(detail(90_000)).toContain('per 90 s.')
    expect(detail(7_200_000)).toContain('per 2 h.')
    expect(detail(86_400_000)).toContain('per 1 d.')
    expect(detail(1500)).toContain('per 1.5 s.')
    expect(detail(250)).toContain('per 250 ms.')
  })

  it('says "at once" for a limit on requests in flight, and "per window" when the window is unknown', () => {
    expect(detail('at-once')).toContain('at most 2 requests at once.')
    expect(detail(undefined)).toContain('at most 2 requests per window.')
  })
})
