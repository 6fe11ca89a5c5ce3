import {
  type Algorithm,
  type AlgorithmState,
  type RuleParams,
  type StepInto,
  stepFromStepInto,
} from '../src/algorithm'
import { wholeUnits } from './rounding'
import { SNAP_LUA, snap } from './snap'

/** The step, written once: `step` below is derived from it (see `Algorithm.stepInto`). */
const stepInto: StepInto = (state, now, cost, rule, next, verdict) => {
  const { limit, windowMs } = rule
  const capacity = rule.burst ?? limit
  // Counted in tokens·W: refills of L per ms are then whole numbers, so with whole-ms clocks
  // and whole costs no decision hangs on how 1/3 of a token rounds in binary.
  const full = capacity * windowMs
  let units = full
  let steppedBack = false
  if (state !== undefined) {
    const storedLast = state[1] as number
    // A clock that stepped back (NTP, another server's time after a failover) mints no tokens,
    // and the bucket's time is re-anchored to now: it refills from here on at the usual rate,
    // rather than not at all until the clock is back where it was.
    steppedBack = now < storedLast
    units = Math.min(
      full,
      snap((state[0] as number) * windowMs) + (steppedBack ? 0 : (now - storedLast) * limit),
    )
  }
  const need = cost * windowMs
  const allowed = units >= need
  const kept = allowed ? units - need : units
  if (allowed || steppedBack || state === undefined) {
    next[0] = kept / windowMs
    next[1] = now
  } else {
    // Denied: the state as it was, so the store has nothing to write.
    next[0] = state[0] as number
    next[1] = state[1] as number
  }
  verdict.allowed = allowed
  verdict.remaining = wholeUnits(kept, windowMs)
  verdict.resetMs = Math.ceil((full - kept) / limit)
  // Refill adds exactly L units per ms, so this is the first whole ms with enough.
  verdict.retryAfterMs = allowed
    ? 0
    : cost > capacity
      ? Number.POSITIVE_INFINITY
      : Math.ceil((need - units) / limit)
  verdict.delayMs = 0
}

/**
 * Puts up to `cost` tokens back (see `Algorithm.refund`), never above the capacity: the bucket
 * is first refilled to `now` as a step would, and its time re-anchored there.
 */
function refund(
  state: AlgorithmState | undefined,
  now: number,
  cost: number,
  rule: RuleParams,
): AlgorithmState | undefined {
  // No state is a full bucket.
  if (state === undefined || !(cost > 0)) return undefined
  const { limit, windowMs } = rule
  const full = (rule.burst ?? limit) * windowMs
  const storedLast = state[1] as number
  const units = Math.min(
    full,
    snap((state[0] as number) * windowMs) + (now < storedLast ? 0 : (now - storedLast) * limit),
  )
  if (units >= full) return undefined
  return [Math.min(full, units + cost * windowMs) / windowMs, now]
}

/**
 * Redis only: tokens that leased instances hold (rule field \`lease\`, see
 * src/stores/redis/lease/lease-scripts.ts) travel in the state as \`[tokens, lastMs, held,
 * heldUntil]\`, and until \`heldUntil\` the bucket's capacity is \`burst - held\`, so that an
 * exact decision of the key cannot refill what the slices hold. The state is written on with them.
 */
const HELD_LUA = `
local function held_of(state, now)
  if state ~= nil and state[4] ~= nil and now < state[4] then return state[3] or 0, state[4] end
  return 0, nil
end
local function with_held(next_state, held, till)
  if till ~= nil then next_state[3] = held next_state[4] = till end
  return next_state
end
`

/** The Lua twin of {@link refund}, for the Redis store (see `Algorithm.luaRefund`). */
export const LUA_REFUND = `${SNAP_LUA}${HELD_LUA}
return function(state, now, cost, limit, window, burst)
  if state == nil or not (cost > 0) then return nil end
  local held, till = held_of(state, now)
  local capacity = math.max(0, (burst or limit) - held)
  local full = capacity * window
  local stored_last = state[2] or now
  local refill = 0
  if now >= stored_last then refill = (now - stored_last) * limit end
  local units = math.min(full, snap((state[1] or capacity) * window) + refill)
  if units >= full then return nil end
  return with_held({ math.min(full, units + cost * window) / window, now }, held, till)
end
`

/** The Lua twin of {@link tokenBucket}'s step, for the Redis store (see `Algorithm.lua`). */
export const LUA = `${SNAP_LUA}${HELD_LUA}
return function(state, now, cost, limit, window, burst)
  local held, till = held_of(state, now)
  local capacity = math.max(0, (burst or limit) - held)
  local full = capacity * window
  local units = full
  local stepped_back = false
  if state ~= nil then
    local stored_last = state[2] or now
    stepped_back = now < stored_last
    local refill = 0
    if not stepped_back then refill = (now - stored_last) * limit end
    units = math.min(full, snap((state[1] or capacity) * window) + refill)
  end
  local need = cost * window
  if units >= need then
    local left = units - need
    local reset = math.ceil((full - left) / limit)
    -- The key outlives the slices it counts: keepMs is the later of their end and resetMs.
    local keep = nil
    if till ~= nil then keep = math.max(reset, till - now) end
    return true, with_held({ left / window, now }, held, till), math.max(0, math.floor(left / window)), reset, 0, 0, keep
  end
  local retry = INF
  if cost <= capacity then retry = math.ceil((need - units) / limit)
  elseif till ~= nil and cost <= (burst or limit) then retry = math.max(math.ceil((need - units) / limit), till - now) end
  local reset = math.ceil((full - units) / limit)
  local kept = state
  local keep = nil
  if stepped_back then kept = with_held({ units / window, now }, held, till) end
  if till ~= nil then keep = math.max(reset, till - now) end
  return false, kept, math.max(0, math.floor(units / window)), reset, retry, 0, keep
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
 * State: `[tokens, lastMs]` — tokens at the last write, and its time.
 */
export const tokenBucket: Algorithm = {
  stateSize: 2,
  acceptsBurst: true,
  lua: LUA,
  lease: 'bucket',
  validate({ burst }) {
    if (burst !== undefined && burst < 1)
      return { field: 'burst', message: 'must be at least 1 for token-bucket' }
    return undefined
  },
  stepInto,
  step: stepFromStepInto(stepInto, 2),
  refund,
  luaRefund: LUA_REFUND,
}
