import {
  type Algorithm,
  type AlgorithmState,
  type RuleParams,
  type RuleVerdict,
  type StepInto,
  stepFromStepInto,
} from '../src/algorithm'
import { wholeUnits } from './rounding'

/** The step, written once: `step` below is derived from it (see `Algorithm.stepInto`). */
const stepInto: StepInto = (state, now, cost, params, next, verdict) => {
  const { limit, windowMs } = params
  const k = Math.floor(now / windowMs)
  const highK = state === undefined ? k : (state[0] ?? k)
  if (k < highK && state !== undefined) {
    behind(state, highK, k, now, cost, params, next, verdict)
    return
  }
  let p = 0
  let q = 0
  if (state !== undefined) {
    if (highK === k) {
      p = state[1] ?? 0
      q = state[2] ?? 0
    } else if (highK === k - 1) {
      p = state[2] ?? 0
    }
  }
  // The estimate times W: a whole number with whole-ms clocks, so "est + cost <= L" and
  // floor(L - est) are decided exactly even when 1 ms is a billionth of a 30-day window.
  const estW = p * ((k + 1) * windowMs - now) + q * windowMs
  const allowed = estW + cost * windowMs <= limit * windowMs
  next[0] = k
  next[1] = p
  // No window behind the clock (see `behind`): that slot holds the window itself.
  next[3] = k
  next[4] = 0
  next[5] = 0
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

/**
 * The clock reads a window `k` below the highest one the key has seen (`highK`): it stepped
 * back. A step back is taken as no time passing, so the key keeps the counts of the window it
 * was in (the high window, or the one it last used behind it) while the clock is in window `k`,
 * and they decay over the next window as usual. Windows further on behind the high one start
 * empty, so after a long step a key waits at most two windows, not the length of the step.
 * Whatever passes behind is counted in the high window as well: once the clock is back there,
 * the estimate includes it.
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
  const highP = state[1] ?? 0
  const highQ = state[2] ?? 0
  const lastK = state[3] ?? highK
  const fromBehind = lastK < highK
  const fromK = fromBehind ? lastK : highK
  let p = 0
  let q = 0
  if (k <= fromK) {
    p = fromBehind ? (state[4] ?? 0) : highP
    q = fromBehind ? (state[5] ?? 0) : highQ
  } else if (k === fromK + 1) {
    p = fromBehind ? (state[5] ?? 0) : highQ
  }
  const estW = p * ((k + 1) * windowMs - now) + q * windowMs
  const allowed = estW + cost * windowMs <= limit * windowMs
  const nextQ = allowed ? q + cost : q
  const nextHighQ = allowed ? highQ + cost : highQ
  next[0] = highK
  next[1] = highP
  next[2] = nextHighQ
  next[3] = k
  next[4] = p
  next[5] = nextQ
  verdict.allowed = allowed
  verdict.delayMs = 0
  verdict.remaining = roomLeft(limit, allowed ? estW + cost * windowMs : estW, windowMs)
  // Walk the windows ahead, as the counts will be in each if nothing else arrives: this one,
  // the next ones behind the high window, the high window itself and the one after it. Within
  // five windows one is empty, and an empty one lets any request that can ever pass through.
  let resetAt = Number.NaN
  let passAt = allowed ? now : cost > limit ? Number.POSITIVE_INFINITY : Number.NaN
  for (let m = k; Number.isNaN(resetAt) || Number.isNaN(passAt); m++) {
    let wp = 0
    let wq = 0
    if (m === k) {
      wp = p
      wq = nextQ
    } else if (m < highK) {
      if (m === k + 1) wp = nextQ
    } else if (m === highK) {
      wp = highP
      wq = nextHighQ
    } else if (m === highK + 1) wp = nextHighQ
    if (Number.isNaN(resetAt) && wp === 0 && wq === 0) resetAt = Math.max(now, m * windowMs)
    if (Number.isNaN(passAt)) passAt = passesAt(wp, wq, m, Math.max(now, m * windowMs), cost, limit, windowMs)
  }
  verdict.resetMs = resetAt - now
  verdict.retryAfterMs = allowed
    ? 0
    : passAt === Number.POSITIVE_INFINITY
      ? passAt
      : Math.max(1, Math.ceil(passAt - now))
}

/**
 * The earliest time from `from` on, within window `m` with previous count `p` and count `q`,
 * at which `cost` fits: p·((m+1)W - t) + qW + cW <= LW. NaN when that is not in window `m`.
 */
function passesAt(
  p: number,
  q: number,
  m: number,
  from: number,
  cost: number,
  limit: number,
  windowMs: number,
): number {
  if (q * windowMs + cost * windowMs > limit * windowMs) return Number.NaN
  if (p === 0) return from
  const end = (m + 1) * windowMs
  const at = Math.max(from, end - Math.floor((limit * windowMs - cost * windowMs - q * windowMs) / p))
  return at < end ? at : Number.NaN
}

/**
 * Gives back up to `cost` units (see `Algorithm.refund`): first from the current window's count
 * `q`, then from the previous one's `p` (a charge taken just before a window edge and settled
 * after it), neither below 0. While the clock is behind (see `behind`), the units come off the
 * counts of the window it reads, and off the high window's count as far as it holds them.
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
  const highP = state[1] ?? 0
  const highQ = state[2] ?? 0
  let p = 0
  let q = 0
  if (k >= highK) {
    if (highK === k) {
      p = highP
      q = highQ
    } else if (highK === k - 1) p = highQ
    const fromQ = Math.min(cost, q)
    const fromP = Math.min(cost - fromQ, p)
    return fromQ + fromP > 0 ? [k, p - fromP, q - fromQ, k, 0, 0] : undefined
  }
  const lastK = state[3] ?? highK
  const fromBehind = lastK < highK
  const fromK = fromBehind ? lastK : highK
  if (k <= fromK) {
    p = fromBehind ? (state[4] ?? 0) : highP
    q = fromBehind ? (state[5] ?? 0) : highQ
  } else if (k === fromK + 1) {
    p = fromBehind ? (state[5] ?? 0) : highQ
  }
  const fromQ = Math.min(cost, q)
  const fromP = Math.min(cost - fromQ, p)
  if (!(fromQ + fromP > 0)) return undefined
  return [highK, highP, Math.max(0, highQ - (fromQ + fromP)), k, p - fromP, q - fromQ]
}

/** The Lua twin of {@link refund}, for the Redis store (see `Algorithm.luaRefund`). */
export const LUA_REFUND = `
return function(state, now, cost, limit, window)
  if state == nil or state[1] == nil or not (cost > 0) then return nil end
  local k = math.floor(now / window)
  local high_k = state[1]
  local high_p = state[2] or 0
  local high_q = state[3] or 0
  local p, q = 0, 0
  if k >= high_k then
    if high_k == k then
      p, q = high_p, high_q
    elseif high_k == k - 1 then
      p = high_q
    end
    local from_q = math.min(cost, q)
    local from_p = math.min(cost - from_q, p)
    if not (from_q + from_p > 0) then return nil end
    return { k, p - from_p, q - from_q }
  end
  local last_k = state[4] or high_k
  local from_behind = last_k < high_k
  local from_k, from_p, from_q = high_k, high_p, high_q
  if from_behind then
    from_k = last_k
    from_p = state[5] or 0
    from_q = state[6] or 0
  end
  if k <= from_k then
    p, q = from_p, from_q
  elseif k == from_k + 1 then
    p = from_q
  end
  local back_q = math.min(cost, q)
  local back_p = math.min(cost - back_q, p)
  if not (back_q + back_p > 0) then return nil end
  return { high_k, high_p, math.max(0, high_q - (back_q + back_p)), k, p - back_p, q - back_q }
end
`

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

local function passes_at(p, q, m, from, cost, limit, window)
  if q * window + cost * window > limit * window then return nil end
  if p == 0 then return from end
  local finish = (m + 1) * window
  local at = math.max(from, finish - math.floor((limit * window - cost * window - q * window) / p))
  if at < finish then return at end
  return nil
end

local function behind(state, high_k, k, now, cost, limit, window)
  local high_p = state[2] or 0
  local high_q = state[3] or 0
  local last_k = state[4] or high_k
  local from_behind = last_k < high_k
  local from_k, from_p, from_q = high_k, high_p, high_q
  if from_behind then
    from_k = last_k
    from_p = state[5] or 0
    from_q = state[6] or 0
  end
  local p, q = 0, 0
  if k <= from_k then
    p, q = from_p, from_q
  elseif k == from_k + 1 then
    p = from_q
  end
  local est_w = p * ((k + 1) * window - now) + q * window
  local allowed = est_w + cost * window <= limit * window
  local next_q, next_high_q = q, high_q
  local remaining
  if allowed then
    next_q = q + cost
    next_high_q = high_q + cost
    remaining = room_left(limit, est_w + cost * window, window)
  else
    remaining = room_left(limit, est_w, window)
  end
  local reset_at, pass_at = nil, nil
  if allowed then pass_at = now elseif cost > limit then pass_at = INF end
  local m = k
  while reset_at == nil or pass_at == nil do
    local wp, wq = 0, 0
    if m == k then
      wp, wq = p, next_q
    elseif m < high_k then
      if m == k + 1 then wp = next_q end
    elseif m == high_k then
      wp, wq = high_p, next_high_q
    elseif m == high_k + 1 then
      wp = next_high_q
    end
    local from = math.max(now, m * window)
    if reset_at == nil and wp == 0 and wq == 0 then reset_at = from end
    if pass_at == nil then pass_at = passes_at(wp, wq, m, from, cost, limit, window) end
    m = m + 1
  end
  local retry = 0
  if not allowed then
    if pass_at == INF then retry = INF else retry = math.max(1, math.ceil(pass_at - now)) end
  end
  local reset = reset_at - now
  -- The high window's counts must outlive these: the key is kept until they have decayed.
  local keep = reset
  if next_high_q > 0 then keep = math.max(reset, (high_k + 2) * window - now)
  elseif high_p > 0 then keep = math.max(reset, (high_k + 1) * window - now) end
  return allowed, { high_k, high_p, next_high_q, k, p, next_q }, remaining, reset, retry, 0, keep
end

return function(state, now, cost, limit, window)
  local k = math.floor(now / window)
  local p, q = 0, 0
  if state ~= nil and state[1] ~= nil then
    if k < state[1] then return behind(state, state[1], k, now, cost, limit, window) end
    if state[1] == k then
      p = state[2] or 0
      q = state[3] or 0
    elseif state[1] == k - 1 then
      p = state[3] or 0
    end
  end
  local est_w = p * ((k + 1) * window - now) + q * window
  if est_w + cost * window <= limit * window then
    local next_q = q + cost
    return true, { k, p, next_q }, room_left(limit, est_w + cost * window, window), reset_after(p, next_q, now, k, window), 0, 0
  end
  -- A plain state (nothing behind) of this very window is left as it was by a denial: returned
  -- as it came, so the store sees at once that there is nothing to write. One of an older
  -- window is moved on and written once, since the highest window seen is what a later step
  -- back of the clock is measured against; one that was behind is brought back to normal.
  local kept = state
  if state == nil or #state > 3 or state[1] ~= k then kept = { k, p, q } end
  return false, kept, room_left(limit, est_w, window), reset_after(p, q, now, k, window),
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
 * Pro: smooth at window edges at the price of three numbers per key (six in memory, with room
 * for a window the clock stepped back into).
 * Con: an estimate, not an exact log; pick it for per-account API quotas where fairness at
 * window edges matters.
 *
 * State: `[k, p, q, behindK, behindP, behindQ]` — the highest window index seen and its
 * counts, and, after the clock stepped back, the window it reads now and that window's counts
 * (`behindK` is `k` when the clock is not behind). A 3-number state means the same as one with
 * nothing behind; the Redis store writes 3 numbers unless the clock is behind.
 */
export const slidingWindow: Algorithm = {
  stateSize: 6,
  acceptsBurst: false,
  lua: LUA,
  lease: 'window',
  stepInto,
  step: stepFromStepInto(stepInto, 6),
  refund,
  luaRefund: LUA_REFUND,
}

/** floor(L - est), with the estimate given times W. */
function roomLeft(limit: number, estW: number, windowMs: number): number {
  return wholeUnits(limit * windowMs - estW, windowMs)
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
