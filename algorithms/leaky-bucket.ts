import { type Algorithm, type StepInto, stepFromStepInto } from '../src/algorithm'
import { SNAP_LUA, snap } from './snap'

/** The step, written once: `step` below is derived from it (see `Algorithm.stepInto`). */
const stepInto: StepInto = (state, now, cost, rule, next, verdict) => {
  const { limit, windowMs } = rule
  const burst = rule.burst ?? 0
  // Time counted in 1/L ms, where T = W/L is the whole number W: with whole-ms clocks no
  // decision hangs on how W/L rounds, and the stored epoch-ms TAT is recovered exactly.
  const nowU = now * limit
  const tatU = state?.[0] === undefined ? nowU : snap(state[0] * limit)
  const startU = Math.max(nowU, tatU)
  const delayU = startU - nowU
  const maxDelayU = burst * windowMs
  const allowed = delayU <= maxDelayU
  const keptU = allowed ? startU + cost * windowMs : tatU
  next[0] = keptU / limit
  verdict.allowed = allowed
  verdict.remaining = queueRoom(keptU - nowU, maxDelayU, windowMs)
  verdict.resetMs = Math.ceil((keptU - nowU) / limit)
  verdict.retryAfterMs = allowed ? 0 : Math.ceil((delayU - maxDelayU) / limit)
  verdict.delayMs = allowed && rule.mode !== 'police' ? delayU / limit : 0
}

/** The Lua twin of {@link leakyBucket}'s step, for the Redis store (see `Algorithm.lua`). */
export const LUA = `${SNAP_LUA}
local function queue_room(backlog, max_delay, window)
  if backlog > max_delay then return 0 end
  return math.floor((max_delay - math.max(0, backlog)) / window) + 1
end

return function(state, now, cost, limit, window, burst, mode)
  burst = burst or 0
  local now_u = now * limit
  local tat_u = now_u
  if state ~= nil and state[1] ~= nil then tat_u = snap(state[1] * limit) end
  local start_u = math.max(now_u, tat_u)
  local delay_u = start_u - now_u
  local max_delay_u = burst * window
  if delay_u <= max_delay_u then
    local next_u = start_u + cost * window
    local shaped = delay_u / limit
    if mode == 'police' then shaped = 0 end
    return true, { next_u / limit }, queue_room(next_u - now_u, max_delay_u, window), math.ceil((next_u - now_u) / limit), 0, shaped
  end
  return false, { tat_u / limit }, queue_room(tat_u - now_u, max_delay_u, window), math.ceil((tat_u - now_u) / limit),
    math.ceil((delay_u - max_delay_u) / limit), 0
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
 * would have waited pass at once (a burst of up to B + 1). One number per key.
 *
 * State: `[tat]` in epoch ms.
 */
export const leakyBucket: Algorithm = {
  stateSize: 1,
  acceptsBurst: true,
  lua: LUA,
  modes: ['shape', 'police'],
  stepInto,
  step: stepFromStepInto(stepInto, 1),
}

/** How many unit requests would still be admitted right now with `backlog` (in 1/L ms) queued. */
function queueRoom(backlog: number, maxDelay: number, windowMs: number): number {
  return backlog > maxDelay ? 0 : Math.floor((maxDelay - Math.max(0, backlog)) / windowMs) + 1
}
