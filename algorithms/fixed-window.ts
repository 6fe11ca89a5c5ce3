import {
  type Algorithm,
  type AlgorithmState,
  type RuleParams,
  type RuleVerdict,
  type StepInto,
  stepFromStepInto,
} from '../src/algorithm'
import { wholeFloor } from './rounding'

/** The step, written once: `step` below is derived from it (see `Algorithm.stepInto`). */
const stepInto: StepInto = (state, now, cost, params, next, verdict) => {
  const { limit, windowMs } = params
  const k = Math.floor(now / windowMs)
  const highK = state === undefined ? k : (state[0] ?? k)
  if (k < highK && state !== undefined) {
    behind(state, highK, k, now, cost, params, next, verdict)
    return
  }
  const count = state !== undefined && highK === k ? (state[1] ?? 0) : 0
  const resetMs = (k + 1) * windowMs - now
  const allowed = count + cost <= limit
  const kept = allowed ? count + cost : count
  next[0] = k
  next[1] = kept
  // No window behind the clock (see `behind`): that slot holds the window itself.
  next[2] = k
  next[3] = 0
  verdict.allowed = allowed
  verdict.remaining = wholeFloor(limit - kept)
  verdict.resetMs = resetMs
  // The next window starts empty, so any request that fits L passes at its start.
  verdict.retryAfterMs = allowed ? 0 : cost > limit ? Number.POSITIVE_INFINITY : resetMs
  verdict.delayMs = 0
}

/**
 * The clock reads a window `k` below the highest one the key has seen (`highK`): it stepped
 * back. A step back is taken as no time passing, so the key stays at the count of the window it
 * was in (the high window, or the one it last used behind it) until the clock leaves window `k`;
 * later windows behind the high one start empty, so a key waits at most one window, not the
 * length of the step. Whatever passes behind is counted in the high window as well: once the
 * clock is back there, it has admitted at most L since that window began.
 */
function behind(
  state: AlgorithmState,
  highK: number,
  k: number,
  now: number,
  cost: number,
  { limit, windowMs }: RuleParams,
  next: number[],
  verdict: RuleVerdict,
): void {
  const highCount = state[1] ?? 0
  const lastK = state[2] ?? highK
  const fromBehind = lastK < highK
  const fromK = fromBehind ? lastK : highK
  const fromCount = fromBehind ? (state[3] ?? 0) : highCount
  const count = k <= fromK ? fromCount : 0
  const allowed = count + cost <= limit
  const kept = allowed ? count + cost : count
  const highKept = allowed ? highCount + cost : highCount
  next[0] = highK
  next[1] = highKept
  next[2] = k
  next[3] = kept
  verdict.allowed = allowed
  verdict.remaining = wholeFloor(limit - kept)
  verdict.delayMs = 0
  // The quota is whole at the end of this window, unless the next one is the high window.
  const nextIsHigh = k + 1 === highK
  verdict.resetMs = (nextIsHigh && highKept > 0 ? highK + 1 : k + 1) * windowMs - now
  if (allowed) verdict.retryAfterMs = 0
  else if (cost > limit) verdict.retryAfterMs = Number.POSITIVE_INFINITY
  else verdict.retryAfterMs = (nextIsHigh && highCount + cost > limit ? highK + 1 : k + 1) * windowMs - now
}

/**
 * Gives back up to `cost` units to the window the clock reads (see `Algorithm.refund`): the
 * count never goes below 0, and units of a window that is over are not given back, since that
 * window no longer limits anything. While the clock is behind (see `behind`), the units come
 * off the window it reads and off the high window, which counted them too.
 */
function refund(
  state: AlgorithmState | undefined,
  now: number,
  cost: number,
  { windowMs }: RuleParams,
): AlgorithmState | undefined {
  if (state === undefined || !(cost > 0)) return undefined
  const k = Math.floor(now / windowMs)
  const highK = state[0] ?? k
  const highCount = state[1] ?? 0
  if (k >= highK) {
    const back = k === highK ? Math.min(cost, highCount) : 0
    return back > 0 ? [k, highCount - back, k, 0] : undefined
  }
  const lastK = state[2] ?? highK
  const fromBehind = lastK < highK
  const fromK = fromBehind ? lastK : highK
  const count = k <= fromK ? (fromBehind ? (state[3] ?? 0) : highCount) : 0
  const back = Math.min(cost, count)
  return back > 0 ? [highK, Math.max(0, highCount - back), k, count - back] : undefined
}

/** The Lua twin of {@link refund}, for the Redis store (see `Algorithm.luaRefund`). */
export const LUA_REFUND = `
return function(state, now, cost, limit, window)
  if state == nil or state[1] == nil or not (cost > 0) then return nil end
  local k = math.floor(now / window)
  local high_k = state[1]
  local high_count = state[2] or 0
  if k >= high_k then
    if k ~= high_k then return nil end
    local back = math.min(cost, high_count)
    if not (back > 0) then return nil end
    return { k, high_count - back }
  end
  local last_k = state[3] or high_k
  local count = 0
  if last_k < high_k then
    if k <= last_k then count = state[4] or 0 end
  else
    count = high_count
  end
  local back = math.min(cost, count)
  if not (back > 0) then return nil end
  return { high_k, math.max(0, high_count - back), k, count - back }
end
`

/** The Lua twin of {@link fixedWindow}'s step, for the Redis store (see `Algorithm.lua`). */
export const LUA = `
local function behind(state, high_k, k, now, cost, limit, window)
  local high_count = state[2] or 0
  local last_k = state[3] or high_k
  local from_k, from_count = high_k, high_count
  if last_k < high_k then
    from_k = last_k
    from_count = state[4] or 0
  end
  local count = 0
  if k <= from_k then count = from_count end
  local allowed = count + cost <= limit
  local kept, high_kept = count, high_count
  if allowed then
    kept = count + cost
    high_kept = high_count + cost
  end
  local next_is_high = k + 1 == high_k
  local reset_k = k + 1
  if next_is_high and high_kept > 0 then reset_k = high_k + 1 end
  local reset = reset_k * window - now
  -- The high window's count must outlive this window's: the key is kept to its end.
  local keep = reset
  if high_kept > 0 then keep = math.max(reset, (high_k + 1) * window - now) end
  local retry = 0
  if not allowed then
    if cost > limit then retry = INF
    elseif next_is_high and high_count + cost > limit then retry = (high_k + 1) * window - now
    else retry = (k + 1) * window - now end
  end
  return allowed, { high_k, high_kept, k, kept }, whole_floor(limit - kept), reset, retry, 0, keep
end

return function(state, now, cost, limit, window)
  local k = math.floor(now / window)
  local count = 0
  if state ~= nil and state[1] ~= nil then
    if k < state[1] then return behind(state, state[1], k, now, cost, limit, window) end
    if state[1] == k then count = state[2] or 0 end
  end
  local reset = (k + 1) * window - now
  if count + cost <= limit then
    local next_count = count + cost
    return true, { k, next_count }, whole_floor(limit - next_count), reset, 0, 0
  end
  local retry = reset
  if cost > limit then retry = INF end
  -- A plain state (nothing behind) of this very window is left as it was by a denial: returned
  -- as it came, so the store sees at once that there is nothing to write. One of an older
  -- window is moved on and written once, since the highest window seen is what a later step
  -- back of the clock is measured against; one that was behind is brought back to normal.
  local kept = state
  if state == nil or #state > 2 or state[1] ~= k then kept = { k, count } end
  return false, kept, whole_floor(limit - count), reset, retry, 0
end
`

/**
 * Fixed window: a counter per window of W ms, windows aligned to the epoch (k = floor(now / W)).
 *
 * Guarantees: never more than L cost units inside one aligned window.
 * Pro: the cheapest strategy (two numbers per key in Redis; four in memory, which
 * keeps room for a window the clock stepped back into), easy to explain, resets are predictable.
 * Con: up to 2L can pass around a window edge (L at the end of one window, L at the start of
 * the next). Pick it for coarse quotas (per day, per hour) where edge bursts do not matter.
 *
 * State: `[k, count, behindK, behindCount]` — the highest window index seen and the units
 * counted in it, and, after the clock stepped back, the window it reads now and that window's
 * count (`behindK` is `k` when the clock is not behind). A 2-number state means the same as
 * one with nothing behind; the Redis store writes 2 numbers unless the clock is behind.
 */
export const fixedWindow: Algorithm = {
  stateSize: 4,
  acceptsBurst: false,
  lua: LUA,
  lease: 'window',
  stepInto,
  step: stepFromStepInto(stepInto, 4),
  refund,
  luaRefund: LUA_REFUND,
}
