import type { Algorithm, AlgorithmState, RuleParams, StepInput, StepResult } from '../src/algorithm'
import { wholeCeil, wholeFloor } from './rounding'

/**
 * Sliding window (two-window counter estimate, as in Cloudflare's and Envoy's limiters).
 * With k = floor(now / W), p the count of window k-1 and q the count of window k:
 * est = p * (1 - (now - kW) / W) + q. A request passes iff est + cost <= L.
 *
 * Guarantees: the estimate never exceeds L; it assumes last window's traffic was spread evenly,
 * so the true count in any W-long interval stays close to L (not the 2L of a fixed window).
 * Pro: smooth at window edges at the price of three numbers per key.
 * Con: an estimate, not an exact log; pick it for per-account API quotas where fairness at
 * window edges matters.
 *
 * State: `[k, p, q]`.
 */
export const slidingWindow: Algorithm = {
  stateSize: 3,
  acceptsBurst: false,
  step(
    state: AlgorithmState | undefined,
    { now, cost }: StepInput,
    { limit, windowMs }: RuleParams,
  ): StepResult {
    const k = Math.floor(now / windowMs)
    let p = 0
    let q = 0
    if (state !== undefined) {
      const storedK = state[0]
      if (storedK === k) {
        p = state[1] ?? 0
        q = state[2] ?? 0
      } else if (storedK === k - 1) {
        p = state[2] ?? 0
      }
    }
    const est = estimate(p, q, now, k, windowMs)
    if (est + cost <= limit) {
      const nextQ = q + cost
      return {
        state: [k, p, nextQ],
        decision: {
          allowed: true,
          remaining: wholeFloor(limit - (est + cost)),
          resetMs: resetAfter(p, nextQ, now, k, windowMs),
          retryAfterMs: 0,
          delayMs: 0,
        },
      }
    }
    return {
      state: [k, p, q],
      decision: {
        allowed: false,
        remaining: wholeFloor(limit - est),
        resetMs: resetAfter(p, q, now, k, windowMs),
        retryAfterMs: retryAfter(p, q, now, k, cost, limit, windowMs),
        delayMs: 0,
      },
    }
  },
}

function estimate(p: number, q: number, now: number, k: number, windowMs: number): number {
  return p * (1 - (now - k * windowMs) / windowMs) + q
}

/** Until the estimate reaches 0: q's window must become the previous one and decay too. */
function resetAfter(p: number, q: number, now: number, k: number, windowMs: number): number {
  if (q > 0) return (k + 2) * windowMs - now
  if (p > 0) return (k + 1) * windowMs - now
  return 0
}

/**
 * The earliest time the estimate lets `cost` through, as the previous window's weight decays:
 * within this window if q alone leaves room, else in the next one, where q becomes p.
 */
function retryAfter(
  p: number,
  q: number,
  now: number,
  k: number,
  cost: number,
  limit: number,
  windowMs: number,
) {
  if (cost > limit) return Number.POSITIVE_INFINITY
  const room = limit - cost
  const at =
    q <= room
      ? k * windowMs + windowMs * (1 - (room - q) / p)
      : (k + 1) * windowMs + windowMs * (1 - room / q)
  let wait = wholeCeil(at - now)
  // Floating point may land a hair early; step forward to the first whole ms that passes.
  while (!passesAt(now + wait, p, q, k, cost, limit, windowMs)) wait += 1
  return wait
}

function passesAt(t: number, p: number, q: number, k: number, cost: number, limit: number, windowMs: number) {
  const kt = Math.floor(t / windowMs)
  const est = kt === k ? estimate(p, q, t, k, windowMs) : kt === k + 1 ? estimate(q, 0, t, kt, windowMs) : 0
  return est + cost <= limit
}
