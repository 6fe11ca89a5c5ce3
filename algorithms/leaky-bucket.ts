import type { Algorithm, AlgorithmState, RuleParams, StepInput, StepResult } from '../src/algorithm'
import { wholeCeil, wholeFloor } from './rounding'

/** The Lua twin of {@link leakyBucket}'s step, for the Redis store (see `Algorithm.lua`). */
export const LUA = `
local function queue_room(backlog, burst, limit, window)
  local queued = (math.max(0, backlog) * limit) / window
  if queued > burst + 1e-9 then return 0 end
  return whole_floor(burst - queued + 1)
end

return function(state, now, cost, limit, window, burst, mode)
  burst = burst or 0
  local interval = window / limit
  local max_delay = (burst * window) / limit
  local tat = now
  if state ~= nil and state[1] ~= nil then tat = state[1] end
  local start = math.max(now, tat)
  local delay = start - now
  if delay <= max_delay then
    local next_tat = start + cost * interval
    local shaped = delay
    if mode == 'police' then shaped = 0 end
    return true, { next_tat }, queue_room(next_tat - now, burst, limit, window), whole_ceil(next_tat - now), 0, shaped
  end
  local wait = whole_ceil(delay - max_delay)
  while tat - (now + wait) > max_delay do wait = wait + 1 end
  return false, { tat }, queue_room(tat - now, burst, limit, window), whole_ceil(tat - now), wait, 0
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
  step(state: AlgorithmState | undefined, { now, cost }: StepInput, rule: RuleParams): StepResult {
    const { limit, windowMs } = rule
    const burst = rule.burst ?? 0
    const interval = windowMs / limit
    const maxDelay = (burst * windowMs) / limit
    const tat = state?.[0] ?? now
    const start = Math.max(now, tat)
    const delay = start - now
    if (delay <= maxDelay) {
      const nextTat = start + cost * interval
      return {
        state: [nextTat],
        decision: {
          allowed: true,
          remaining: queueRoom(nextTat - now, burst, limit, windowMs),
          resetMs: wholeCeil(nextTat - now),
          retryAfterMs: 0,
          delayMs: rule.mode === 'police' ? 0 : delay,
        },
      }
    }
    let wait = wholeCeil(delay - maxDelay)
    // Floating point may land a hair early; step forward to the first whole ms that fits.
    while (tat - (now + wait) > maxDelay) wait += 1
    return {
      state: [tat],
      decision: {
        allowed: false,
        remaining: queueRoom(tat - now, burst, limit, windowMs),
        resetMs: wholeCeil(tat - now),
        retryAfterMs: wait,
        delayMs: 0,
      },
    }
  },
}

/** How many unit requests would still be admitted right now with `backlog` ms queued. */
function queueRoom(backlog: number, burst: number, limit: number, windowMs: number): number {
  const queued = (Math.max(0, backlog) * limit) / windowMs
  return queued > burst + 1e-9 ? 0 : wholeFloor(burst - queued + 1)
}
