import { type Algorithm, type StepInto, stepFromStepInto } from '../src/algorithm'

/** The step, written once: `step` below is derived from it (see `Algorithm.stepInto`). */
const stepInto: StepInto = (state, now, cost, { limit, windowMs }, next, verdict) => {
  let k = Math.floor(now / windowMs)
  let p = 0
  let q = 0
  // Where the previous window's weight is read: now, or the start of the stored window when
  // the clock stepped back before it (the weight never exceeds 1).
  let at = now
  if (state !== undefined) {
    const storedK = state[0] ?? k
    if (storedK >= k) {
      // Same window, or a clock that stepped back: it stays in the stored window, since a
      // lower index would let the window's L in again once the clock is back (2L in one W).
      p = state[1] ?? 0
      q = state[2] ?? 0
      if (storedK > k) {
        k = storedK
        at = k * windowMs
      }
    } else if (storedK === k - 1) {
      p = state[2] ?? 0
    }
  }
  // The estimate times W: a whole number with whole-ms clocks, so "est + cost <= L" and
  // floor(L - est) are decided exactly even when 1 ms is a billionth of a 30-day window.
  const estW = p * ((k + 1) * windowMs - at) + q * windowMs
  const allowed = estW + cost * windowMs <= limit * windowMs
  next[0] = k
  next[1] = p
  verdict.allowed = allowed
  verdict.delayMs = 0
  if (allowed) {
    const nextQ = q + cost
    next[2] = nextQ
    verdict.remaining = roomLeft(limit, estW + cost * windowMs, windowMs)
    verdict.resetMs = resetAfter(p, nextQ, now, k, windowMs)
    verdict.retryAfterMs = 0
    return
  }
  next[2] = q
  verdict.remaining = roomLeft(limit, estW, windowMs)
  verdict.resetMs = resetAfter(p, q, now, k, windowMs)
  verdict.retryAfterMs = retryAfter(p, q, now, k, cost, limit, windowMs)
}

/** The Lua twin of {@link slidingWindow}'s step, for the Redis store (see `Algorithm.lua`). */
export const LUA = `
local function reset_after(p, q, now, k, window)
  if q > 0 then return (k + 2) * window - now end
  if p > 0 then return (k + 1) * window - now end
  return 0
end

local function room_left(limit, est_w, window)
  return math.max(0, math.floor((limit * window - est_w) / window))
end

local function retry_after(p, q, now, k, cost, limit, window)
  if cost > limit then return INF end
  local room = limit - cost
  local wait
  if q <= room then wait = math.ceil((p * ((k + 1) * window - now) - (room - q) * window) / p)
  else wait = math.ceil((q * ((k + 2) * window - now) - room * window) / q) end
  return math.max(1, wait)
end

return function(state, now, cost, limit, window)
  local k = math.floor(now / window)
  local p, q = 0, 0
  local at = now
  if state ~= nil and state[1] ~= nil then
    if state[1] >= k then
      p = state[2] or 0
      q = state[3] or 0
      if state[1] > k then
        k = state[1]
        at = k * window
      end
    elseif state[1] == k - 1 then
      p = state[3] or 0
    end
  end
  local est_w = p * ((k + 1) * window - at) + q * window
  if est_w + cost * window <= limit * window then
    local next_q = q + cost
    return true, { k, p, next_q }, room_left(limit, est_w + cost * window, window), reset_after(p, next_q, now, k, window), 0, 0
  end
  return false, { k, p, q }, room_left(limit, est_w, window), reset_after(p, q, now, k, window),
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
  stepInto,
  step: stepFromStepInto(stepInto, 3),
}

/** floor(L - est), with the estimate given times W. */
function roomLeft(limit: number, estW: number, windowMs: number): number {
  return Math.max(0, Math.floor((limit * windowMs - estW) / windowMs))
}

/** Until the estimate reaches 0: q's window must become the previous one and decay too. */
function resetAfter(p: number, q: number, now: number, k: number, windowMs: number): number {
  if (q > 0) return (k + 2) * windowMs - now
  if (p > 0) return (k + 1) * windowMs - now
  return 0
}

/**
 * The earliest whole ms at which the estimate lets `cost` through, as the previous window's
 * weight decays: within this window, p·((k+1)W - t) <= (room - q)·W, if q alone leaves room;
 * else in the next one, where q has become the previous count: q·((k+2)W - t) <= room·W.
 * A denial with q <= room implies p > 0, and q > room implies q > 0, so neither divides by 0.
 */
function retryAfter(
  p: number,
  q: number,
  now: number,
  k: number,
  cost: number,
  limit: number,
  windowMs: number,
): number {
  if (cost > limit) return Number.POSITIVE_INFINITY
  const room = limit - cost
  const wait =
    q <= room
      ? Math.ceil((p * ((k + 1) * windowMs - now) - (room - q) * windowMs) / p)
      : Math.ceil((q * ((k + 2) * windowMs - now) - room * windowMs) / q)
  return Math.max(1, wait)
}
