import {
  type Algorithm,
  type AlgorithmState,
  type RuleParams,
  type StepInto,
  stepFromStepInto,
} from '../src/algorithm'

/** The largest queue, in 1/L ms, that is counted exactly (2^53). */
const MAX_QUEUE_U = 2 ** 53

/** The step, written once: `step` below is derived from it (see `Algorithm.stepInto`). */
const stepInto: StepInto = (state, now, cost, rule, next, verdict) => {
  const { limit, windowMs } = rule
  const burst = rule.burst ?? 0
  // The queue is counted in 1/L ms, where T = W/L is the whole number W, and relative to the
  // last write rather than to the epoch: the backlog is a whole number of at most (B + c)·W,
  // exact in a double, where now·L would pass 2^53 from L ≈ 5,300 on with epoch-ms clocks.
  let backlogU = 0
  let steppedBack = false
  if (state !== undefined) {
    // A stored state has its numbers: `[anchorMs, backlog]`, or an old `[tatMs]`.
    const anchor = state[0] as number
    const stored = state[1]
    if (stored === undefined) {
      // A one-number state is an epoch-ms TAT, as written before the backlog was kept.
      backlogU = Math.max(0, anchor - now) * limit
    } else if (now < anchor) {
      // The clock stepped back: no time passes for the queue, and its time is re-anchored to
      // now, so the queue drains from here on and is never held for the length of the step.
      steppedBack = true
      backlogU = stored
    } else {
      const drainedU = (now - anchor) * limit
      backlogU = drainedU >= stored ? 0 : stored - drainedU
    }
  }
  const maxDelayU = burst * windowMs
  // A cost whose queue could not be counted exactly ((B + c)·W past 2^53) is more than the
  // rule can ever hold: denied with no finite wait, rather than admitted into a backlog that
  // would deny the key for ages (a cost of 1e300 would be 1e303 ms of queue).
  const fits = (burst + cost) * windowMs <= MAX_QUEUE_U
  const allowed = fits && backlogU <= maxDelayU
  const keptU = allowed ? backlogU + cost * windowMs : backlogU
  if (allowed || steppedBack || state === undefined || state[1] === undefined) {
    next[0] = now
    next[1] = keptU
  } else {
    // Denied: the state as it was, so the store has nothing to write.
    next[0] = state[0] as number
    next[1] = state[1]
  }
  verdict.allowed = allowed
  verdict.remaining = queueRoom(keptU, maxDelayU, windowMs)
  verdict.resetMs = Math.ceil(keptU / limit)
  verdict.retryAfterMs = allowed
    ? 0
    : fits
      ? Math.ceil((backlogU - maxDelayU) / limit)
      : Number.POSITIVE_INFINITY
  verdict.delayMs = allowed && rule.mode !== 'police' ? backlogU / limit : 0
}

/**
 * Takes up to `cost` requests' worth off the queue (see `Algorithm.refund`), never below empty:
 * TAT moves back by `cost · T`, but not before now. The queue is first drained to `now` as a
 * step would, and re-anchored there.
 */
function refund(
  state: AlgorithmState | undefined,
  now: number,
  cost: number,
  { limit, windowMs }: RuleParams,
): AlgorithmState | undefined {
  if (state === undefined || !(cost > 0)) return undefined
  const anchor = state[0] as number
  const stored = state[1]
  let backlogU: number
  if (stored === undefined) backlogU = Math.max(0, anchor - now) * limit
  else if (now < anchor) backlogU = stored
  else {
    const drainedU = (now - anchor) * limit
    backlogU = drainedU >= stored ? 0 : stored - drainedU
  }
  if (!(backlogU > 0)) return undefined
  return [now, Math.max(0, backlogU - cost * windowMs)]
}

/** The Lua twin of {@link refund}, for the Redis store (see `Algorithm.luaRefund`). */
export const LUA_REFUND = `
return function(state, now, cost, limit, window)
  if state == nil or state[1] == nil or not (cost > 0) then return nil end
  local anchor = state[1]
  local stored = state[2]
  local backlog_u
  if stored == nil then
    backlog_u = math.max(0, anchor - now) * limit
  elseif now < anchor then
    backlog_u = stored
  else
    local drained_u = (now - anchor) * limit
    if drained_u >= stored then backlog_u = 0 else backlog_u = stored - drained_u end
  end
  if not (backlog_u > 0) then return nil end
  return { now, math.max(0, backlog_u - cost * window) }
end
`

/** The Lua twin of {@link leakyBucket}'s step, for the Redis store (see `Algorithm.lua`). */
export const LUA = `
local function queue_room(backlog, max_delay, window)
  if backlog > max_delay then return 0 end
  return math.floor((max_delay - backlog) / window) + 1
end

return function(state, now, cost, limit, window, burst, mode)
  burst = burst or 0
  local backlog_u = 0
  local stepped_back = false
  local anchor, stored = now, nil
  if state ~= nil then
    anchor = state[1] or now
    stored = state[2]
    if stored == nil then
      backlog_u = math.max(0, anchor - now) * limit
    elseif now < anchor then
      stepped_back = true
      backlog_u = stored
    else
      local drained_u = (now - anchor) * limit
      if drained_u >= stored then backlog_u = 0 else backlog_u = stored - drained_u end
    end
  end
  local max_delay_u = burst * window
  local fits = (burst + cost) * window <= 9007199254740992
  if fits and backlog_u <= max_delay_u then
    local kept_u = backlog_u + cost * window
    local shaped = backlog_u / limit
    if mode == 'police' then shaped = 0 end
    return true, { now, kept_u }, queue_room(kept_u, max_delay_u, window), math.ceil(kept_u / limit), 0, shaped
  end
  -- Denied: the state as it came (so the store has nothing to write), unless it was re-anchored.
  local kept = state
  if stepped_back or stored == nil then kept = { now, backlog_u } end
  local retry = INF
  if fits then retry = math.ceil((backlog_u - max_delay_u) / limit) end
  return false, kept, queue_room(backlog_u, max_delay_u, window), math.ceil(backlog_u / limit), retry, 0
end
`

/**
 * Leaky bucket as a shaper (GCRA, "virtual scheduling"): requests leave at one per T = W/L ms.
 * TAT is the theoretical arrival time of the next request; a request may wait in the queue if
 * its wait is at most B·T (B requests queued, default 0).
 *
 * Guarantees: admitted requests, each released after its `delayMs`, are spaced at least
 * cost·T apart: the downstream sees a smooth rate of L per W, never a burst.
 * Pro: the smoothest output; protects a fragile backend (payment, stock deduction).
 * Con: callers wait up to B·T; with `mode: 'police'` there is no waiting, and requests that
 * would have waited pass at once (a burst of up to B + 1). Two numbers per key.
 *
 * State: `[anchorMs, backlog]` — the time of the last write and the queue then in 1/L ms, so
 * TAT = anchorMs + backlog / L.
 */
export const leakyBucket: Algorithm = {
  stateSize: 2,
  acceptsBurst: true,
  lua: LUA,
  modes: ['shape', 'police'],
  stepInto,
  step: stepFromStepInto(stepInto, 2),
  refund,
  luaRefund: LUA_REFUND,
}

/** How many unit requests would still be admitted right now with `backlog` (in 1/L ms) queued. */
function queueRoom(backlog: number, maxDelay: number, windowMs: number): number {
  return backlog > maxDelay ? 0 : Math.floor((maxDelay - backlog) / windowMs) + 1
}
