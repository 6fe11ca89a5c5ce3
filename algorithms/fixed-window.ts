import type { Algorithm, AlgorithmState, RuleParams, StepInput, StepResult } from '../src/algorithm'
import { wholeFloor } from './rounding'

/**
 * Fixed window: a counter per window of W ms, windows aligned to the epoch (k = floor(now / W)).
 *
 * Guarantees: never more than L cost units inside one aligned window.
 * Pro: the cheapest strategy (two numbers per key), easy to explain, resets are predictable.
 * Con: up to 2L can pass around a window edge (L at the end of one window, L at the start of
 * the next). Pick it for coarse quotas (per day, per hour) where edge bursts do not matter.
 *
 * State: `[k, count]` — the window index and the units counted in it.
 */
export const fixedWindow: Algorithm = {
  stateSize: 2,
  acceptsBurst: false,
  step(
    state: AlgorithmState | undefined,
    { now, cost }: StepInput,
    { limit, windowMs }: RuleParams,
  ): StepResult {
    const k = Math.floor(now / windowMs)
    const count = state !== undefined && state[0] === k ? (state[1] ?? 0) : 0
    const resetMs = (k + 1) * windowMs - now
    if (count + cost <= limit) {
      const next = count + cost
      return {
        state: [k, next],
        decision: {
          allowed: true,
          remaining: wholeFloor(limit - next),
          resetMs,
          retryAfterMs: 0,
          delayMs: 0,
        },
      }
    }
    return {
      state: [k, count],
      decision: {
        allowed: false,
        remaining: wholeFloor(limit - count),
        resetMs,
        // The next window starts empty, so any request that fits L passes at its start.
        retryAfterMs: cost > limit ? Number.POSITIVE_INFINITY : resetMs,
        delayMs: 0,
      },
    }
  },
}
