import type { Algorithm, AlgorithmState, RuleParams, StepInput, StepResult } from '../src/algorithm'
import { wholeCeil, wholeFloor } from './rounding'

/** The Lua twin of {@link slidingWindow}'s step, for the Redis store (see `Algorithm.lua`). */
export const LUA = `
local function estimate(p, q, now, k, window)
  return p * (1 - (now - k * window) / window) + q
end

local function reset_after(p, q, now, k, window)
  if q > 0 then return (k + 2) * window - now end
  if p > 0 then return (k + 1) * window - now end
  return 0
end

local function passes_at(t, p, q, k, cost, limit, window)
  local kt = math.floor(t / window)
  local est = 0
  if kt == k then est = estimate(p, q, t, k, window)
  elseif kt == k + 1 then est = estimate(q, 0, t, kt, window) end
  return est + cost <= limit
end

local function retry_after(p, q, now, k, cost, limit, window)
  if cost > limit then return INF end
  local room = limit - cost
  local at
  if q <= room then at = k * window + window * (1 - (room - q) / p)
  else at = (k + 1) * window + window * (1 - room / q) end
  local wait = whole_ceil(at - now)
  while not passes_at(now + wait, p, q, k, cost, limit, window) do wait = wait + 1 end
  return wait
end

return function(state, now, cost, limit, window)
  local k = math.floor(now / window)
  local p, q = 0, 0
  if state ~= nil then
    if state[1] == k then
      p = state[2] or 0
      q = state[3] or 0
    elseif state[1] == k - 1 then
      p = state[3] or 0
    end
  end
  local est = estimate(p, q, now, k, window)
  if est + cost <= limit then
    local next_q = q + cost
    return true, { k, p, next_q }, whole_floor(limit - (est + cost)), reset_after(p, next_q, now, k, window), 0, 0
  end
  return false, { k, p, q }, whole_floor(limit - est), reset_after(p, q, now, k, window),
    retry_after(p, q, now, k, cost, limit, window), 0
end
`

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
  lua: LUA,
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
