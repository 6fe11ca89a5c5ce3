import { type Algorithm, type StepInto, stepFromStepInto } from '../src/algorithm'
import { wholeFloor } from './rounding'

/** The step, written once: `step` below is derived from it (see `Algorithm.stepInto`). */
const stepInto: StepInto = (state, now, cost, { limit, windowMs }, next, verdict) => {
  let k = Math.floor(now / windowMs)
  let count = 0
  if (state !== undefined) {
    const storedK = state[0] ?? k
    // A clock that stepped back into an earlier window stays in the stored one: moving to a
    // lower index would let the window's L in again once the clock is back (2L in one window).
    if (storedK >= k) {
      count = state[1] ?? 0
      k = storedK
    }
  }
  const resetMs = (k + 1) * windowMs - now
  const allowed = count + cost <= limit
  const kept = allowed ? count + cost : count
  next[0] = k
  next[1] = kept
  verdict.allowed = allowed
  verdict.remaining = wholeFloor(limit - kept)
  verdict.resetMs = resetMs
  // The next window starts empty, so any request that fits L passes at its start.
  verdict.retryAfterMs = allowed ? 0 : cost > limit ? Number.POSITIVE_INFINITY : resetMs
  verdict.delayMs = 0
}

/** The Lua twin of {@link fixedWindow}'s step, for the Redis store (see `Algorithm.lua`). */
export const LUA = `
return function(state, now, cost, limit, window)
  local k = math.floor(now / window)
  local count = 0
  if state ~= nil and state[1] ~= nil and state[1] >= k then
    k = state[1]
    count = state[2] or 0
  end
  local reset = (k + 1) * window - now
  if count + cost <= limit then
    local next_count = count + cost
    return true, { k, next_count }, whole_floor(limit - next_count), reset, 0, 0
  end
  local retry = reset
  if cost > limit then retry = INF end
  return false, { k, count }, whole_floor(limit - count), reset, retry, 0
end
`

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
  lua: LUA,
  stepInto,
  step: stepFromStepInto(stepInto, 2),
}
