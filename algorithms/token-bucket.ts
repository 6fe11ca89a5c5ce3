import type { Algorithm, AlgorithmState, RuleParams, StepInput, StepResult } from '../src/algorithm'
import { wholeCeil, wholeFloor } from './rounding'

/**
 * Token bucket: capacity B (default L) refilled continuously at L/W tokens per ms, starting
 * full. A request takes `cost` tokens if that many are there.
 *
 * Guarantees: in any interval of t ms at most B + t·L/W units pass; the long-run rate is L/W.
 * Pro: allows bursts up to B after idle time while holding the average rate; two numbers per key.
 * Con: a full bucket lets B through at once. Pick it for global and per-client API rates where
 * short bursts are welcome.
 *
 * State: `[tokens, lastMs]` — tokens after the last admitted request, and its time.
 */
export const tokenBucket: Algorithm = {
  stateSize: 2,
  acceptsBurst: true,
  validate({ burst }) {
    if (burst !== undefined && burst < 1)
      return { field: 'burst', message: 'must be at least 1 for token-bucket' }
    return undefined
  },
  step(state: AlgorithmState | undefined, { now, cost }: StepInput, rule: RuleParams): StepResult {
    const { limit, windowMs } = rule
    const capacity = rule.burst ?? limit
    let tokens = capacity
    let last = now
    if (state !== undefined) {
      const storedLast = state[1] ?? now
      // A clock that stepped back (another server's time after a failover) must not mint tokens.
      last = Math.max(storedLast, now)
      tokens = Math.min(capacity, (state[0] ?? capacity) + (Math.max(0, now - storedLast) * limit) / windowMs)
    }
    if (tokens >= cost) {
      const left = tokens - cost
      return {
        state: [left, last],
        decision: {
          allowed: true,
          remaining: wholeFloor(left),
          resetMs: wholeCeil(((capacity - left) * windowMs) / limit),
          retryAfterMs: 0,
          delayMs: 0,
        },
      }
    }
    return {
      state: [tokens, last],
      decision: {
        allowed: false,
        remaining: wholeFloor(tokens),
        resetMs: wholeCeil(((capacity - tokens) * windowMs) / limit),
        retryAfterMs: cost > capacity ? Number.POSITIVE_INFINITY : retryAfter(tokens, cost, limit, windowMs),
        delayMs: 0,
      },
    }
  },
}

function retryAfter(tokens: number, cost: number, limit: number, windowMs: number): number {
  let wait = wholeCeil(((cost - tokens) * windowMs) / limit)
  // Floating point may land a hair early; step forward to the first whole ms that refills enough.
  while (tokens + (wait * limit) / windowMs < cost) wait += 1
  return wait
}
