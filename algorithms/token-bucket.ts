import type { Algorithm, AlgorithmState, RuleParams, StepInput, StepResult } from '../src/algorithm'
import { wholeCeil, wholeFloor } from './rounding'

/** The Lua twin of {@link tokenBucket}'s step, for the Redis store (see `Algorithm.lua`). */
export const LUA = `
return function(state, now, cost, limit, window, burst)
  local capacity = burst or limit
  local tokens = capacity
  local last = now
  if state ~= nil then
    local stored_last = state[2] or now
    last = math.max(stored_last, now)
    tokens = math.min(capacity, (state[1] or capacity) + (math.max(0, now - stored_last) * limit) / window)
  end
  if tokens >= cost then
    local left = tokens - cost
    return true, { left, last }, whole_floor(left), whole_ceil(((capacity - left) * window) / limit), 0, 0
  end
  local retry = INF
  if cost <= capacity then
    retry = whole_ceil(((cost - tokens) * window) / limit)
    while tokens + (retry * limit) / window < cost do retry = retry + 1 end
  end
  return false, { tokens, last }, whole_floor(tokens), whole_ceil(((capacity - tokens) * window) / limit), retry, 0
end
`

/**
 * Token bucket: capacity B (default L) refilled continuously at L/W tokens per ms, starting
 * full. A request takes `cost` tokens if that many are there.
 *
 * Guarantees: in any interval of t ms at most B + t·L/W units pass; the long-run rate is L/W.
 * Pro: allows bursts up to B after idle time while holding the average rate; two numbers per key.
 * Con: a full bucket lets B through at once. Pick it for global and per-client API rates where
 * short bursts are welcome.
 *
 * State: `[tokens, lastMs]` — tokens after the last admitted request, and its time.
 */
export const tokenBucket: Algorithm = {
  stateSize: 2,
  acceptsBurst: true,
  lua: LUA,
  validate({ burst }) {
    if (burst !== undefined && burst < 1)
      return { field: 'burst', message: 'must be at least 1 for token-bucket' }
    return undefined
  },
  step(state: AlgorithmState | undefined, { now, cost }: StepInput, rule: RuleParams): StepResult {
    const { limit, windowMs } = rule
    const capacity = rule.burst ?? limit
    let tokens = capacity
    let last = now
    if (state !== undefined) {
      const storedLast = state[1] ?? now
      // A clock that stepped back (another server's time after a failover) must not mint tokens.
      last = Math.max(storedLast, now)
      tokens = Math.min(capacity, (state[0] ?? capacity) + (Math.max(0, now - storedLast) * limit) / windowMs)
    }
    if (tokens >= cost) {
      const left = tokens - cost
      return {
        state: [left, last],
        decision: {
          allowed: true,
          remaining: wholeFloor(left),
          resetMs: wholeCeil(((capacity - left) * windowMs) / limit),
          retryAfterMs: 0,
          delayMs: 0,
        },
      }
    }
    return {
      state: [tokens, last],
      decision: {
        allowed: false,
        remaining: wholeFloor(tokens),
        resetMs: wholeCeil(((capacity - tokens) * windowMs) / limit),
        retryAfterMs: cost > capacity ? Number.POSITIVE_INFINITY : retryAfter(tokens, cost, limit, windowMs),
        delayMs: 0,
      },
    }
  },
}

function retryAfter(tokens: number, cost: number, limit: number, windowMs: number): number {
  let wait = wholeCeil(((cost - tokens) * windowMs) / limit)
  // Floating point may land a hair early; step forward to the first whole ms that refills enough.
  while (tokens + (wait * limit) / windowMs < cost) wait += 1
  return wait
}
