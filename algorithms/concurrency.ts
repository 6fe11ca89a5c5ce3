import {
  type Algorithm,
  type AlgorithmState,
  type RuleParams,
  type StepInto,
  stepFromStepInto,
} from '../src/algorithm'
import { wholeFloor } from './rounding'

/**
 * Slots per window. A permit is reclaimed at the end of the slot it was taken in plus a window:
 * never before `window` has passed, at most `window / SLOTS` after. More slots reclaim closer
 * to `window` at the price of a longer state.
 */
export const SLOTS = 8
/** Slots that can hold live permits: the current one and the `SLOTS` before it. */
const RING = SLOTS + 1
const STATE_SIZE = RING + 1

/** The slot `now` falls in: slot s spans [s·W/SLOTS, (s+1)·W/SLOTS). */
function slotOf(now: number, windowMs: number): number {
  return Math.floor((now * SLOTS) / windowMs)
}

/**
 * Whole ms from `now` until the permits of slot `slot` are reclaimed, at (slot+1+SLOTS)·W/SLOTS.
 * Counted times SLOTS, so with whole-ms clocks the division is the only rounding.
 */
function untilReclaimed(slot: number, now: number, windowMs: number): number {
  return Math.ceil(((slot + 1 + SLOTS) * windowMs - now * SLOTS) / SLOTS)
}

/**
 * How far the state's newest slot lies behind `k`, the slot the clock reads. A clock that
 * stepped back is taken as no time passing: the permits keep their ages, and the ring is
 * re-anchored at `k` (0 here), so they are reclaimed `window` after they were taken as the
 * clock now runs, rather than only once it is back where it was.
 */
function shiftOf(head: number, k: number): number {
  return k < head ? 0 : k - head
}

/** The step, written once: `step` below is derived from it (see `Algorithm.stepInto`). */
const stepInto: StepInto = (state, now, cost, rule, next, verdict) => {
  const { limit, windowMs } = rule
  const k = slotOf(now, windowMs)
  const head = state === undefined ? k : (state[0] as number)
  const shift = shiftOf(head, k)
  // Permits by age in slots (0 = taken in slot k), those older than SLOTS reclaimed.
  let inFlight = 0
  next[0] = k
  for (let age = 0; age < RING; age++) {
    const held = state === undefined || age < shift ? 0 : (state[1 + age - shift] as number)
    next[1 + age] = held
    inFlight += held
  }
  const allowed = inFlight + cost <= limit
  const after = allowed ? inFlight + cost : inFlight
  if (allowed) next[1] = (next[1] as number) + cost
  else if (state !== undefined && k >= head) {
    // Denied: the state as it was (it means the same), so the store has nothing to write.
    for (let j = 0; j < STATE_SIZE; j++) next[j] = state[j] as number
  }
  verdict.allowed = allowed
  verdict.remaining = wholeFloor(limit - after)
  verdict.delayMs = 0
  // Newest occupied slot: everything is reclaimed once it is.
  let resetMs = 0
  for (let age = 0; age < RING; age++) {
    const held = age === 0 && allowed ? (next[1] as number) : heldAt(state, shift, age)
    if (held > 0) {
      resetMs = untilReclaimed(k - age, now, windowMs)
      break
    }
  }
  verdict.resetMs = resetMs
  if (allowed) verdict.retryAfterMs = 0
  else if (cost > limit) verdict.retryAfterMs = Number.POSITIVE_INFINITY
  else {
    // Oldest first, until enough permits are reclaimed for `cost` to fit. Releases usually
    // come sooner; this is the wait if none does.
    const need = inFlight + cost - limit
    let freed = 0
    let retry = resetMs
    for (let age = SLOTS; age >= 0; age--) {
      freed += heldAt(state, shift, age)
      if (freed >= need) {
        retry = untilReclaimed(k - age, now, windowMs)
        break
      }
    }
    verdict.retryAfterMs = retry
  }
}

/** Permits of age `age` (in slots) after the ring moved on by `shift`. */
function heldAt(state: AlgorithmState | undefined, shift: number, age: number): number {
  return state === undefined || age < shift ? 0 : (state[1 + age - shift] as number)
}

/**
 * Gives back up to `cost` permits (see `Algorithm.refund`). With `heldMs`, from the slot they
 * were taken in (`now - heldMs`), and where that holds fewer (a clock's granularity, latency
 * across a slot edge) from the slots nearest to it, the newer one first; permits already
 * reclaimed give nothing back. Without it, from the newest slots. Never below 0 in any slot.
 */
function refund(
  state: AlgorithmState | undefined,
  now: number,
  cost: number,
  { windowMs }: RuleParams,
  heldMs?: number,
): AlgorithmState | undefined {
  if (state === undefined || !(cost > 0)) return undefined
  const k = slotOf(now, windowMs)
  const shift = shiftOf(state[0] as number, k)
  const next = new Array<number>(STATE_SIZE)
  next[0] = k
  for (let age = 0; age < RING; age++) next[1 + age] = heldAt(state, shift, age)
  let from = 0
  const known = heldMs !== undefined && !Number.isNaN(heldMs)
  if (known) {
    from = k - slotOf(now - Math.max(0, heldMs as number), windowMs)
    if (from > SLOTS) return undefined
  }
  let left = cost
  // Nearest first: from, from-1, from+1, from-2, ... (without heldMs: 0, 1, 2, ...).
  for (let d = 0; d < 2 * RING && left > 0; d++) {
    const age = known ? (d % 2 === 0 ? from - d / 2 : from + (d + 1) / 2) : d
    if (age < 0 || age > SLOTS) continue
    const held = next[1 + age] as number
    const back = Math.min(left, held)
    next[1 + age] = held - back
    left -= back
  }
  return left < cost ? next : undefined
}

/** The Lua twin of {@link refund}, for the Redis store (see `Algorithm.luaRefund`). */
export const LUA_REFUND = `
local SLOTS = ${SLOTS}
return function(state, now, cost, limit, window, burst, mode, held_ms)
  if state == nil or state[1] == nil or not (cost > 0) then return nil end
  local k = math.floor((now * SLOTS) / window)
  local shift = 0
  if k >= state[1] then shift = k - state[1] end
  local counts = {}
  for age = 0, SLOTS do
    local held = 0
    if age >= shift then held = state[2 + age - shift] or 0 end
    counts[age] = held
  end
  local from = 0
  local known = held_ms ~= nil and held_ms == held_ms
  if known then
    from = k - math.floor(((now - math.max(0, held_ms)) * SLOTS) / window)
    if from > SLOTS then return nil end
  end
  local left = cost
  local d = 0
  while d < 2 * (SLOTS + 1) and left > 0 do
    local age = d
    if known then
      if d % 2 == 0 then age = from - d / 2 else age = from + (d + 1) / 2 end
    end
    if age >= 0 and age <= SLOTS then
      local back = math.min(left, counts[age])
      counts[age] = counts[age] - back
      left = left - back
    end
    d = d + 1
  end
  if not (left < cost) then return nil end
  local out = { k }
  local last = 0
  for age = 0, SLOTS do
    if counts[age] ~= 0 then last = age end
  end
  for age = 0, last do out[2 + age] = counts[age] end
  return out
end
`

/** The Lua twin of {@link concurrency}'s step, for the Redis store (see `Algorithm.lua`). */
export const LUA = `
local SLOTS = ${SLOTS}
local function until_reclaimed(slot, now, window)
  return math.ceil(((slot + 1 + SLOTS) * window - now * SLOTS) / SLOTS)
end

return function(state, now, cost, limit, window)
  local k = math.floor((now * SLOTS) / window)
  local head = k
  if state ~= nil and state[1] ~= nil then head = state[1] end
  local shift = 0
  if k >= head then shift = k - head end
  local counts = {}
  local in_flight = 0
  for age = 0, SLOTS do
    local held = 0
    if state ~= nil and age >= shift then held = state[2 + age - shift] or 0 end
    counts[age] = held
    in_flight = in_flight + held
  end
  local allowed = in_flight + cost <= limit
  local after = in_flight
  if allowed then after = in_flight + cost end
  local reset = 0
  for age = 0, SLOTS do
    local held = counts[age]
    if age == 0 and allowed then held = held + cost end
    if held > 0 then
      reset = until_reclaimed(k - age, now, window)
      break
    end
  end
  if allowed then
    counts[0] = counts[0] + cost
    -- Trailing empty slots are left out: a shorter state means the same.
    local out = { k }
    local last = 0
    for age = 0, SLOTS do
      if counts[age] ~= 0 then last = age end
    end
    for age = 0, last do out[2 + age] = counts[age] end
    return true, out, whole_floor(limit - after), reset, 0, 0
  end
  local retry = reset
  if cost > limit then
    retry = INF
  else
    local need = in_flight + cost - limit
    local freed = 0
    for age = SLOTS, 0, -1 do
      freed = freed + counts[age]
      if freed >= need then
        retry = until_reclaimed(k - age, now, window)
        break
      end
    end
  end
  -- A denial moves nothing on unless the clock stepped back (the ring is re-anchored at k).
  local kept = state
  if state ~= nil and state[1] ~= nil and k < state[1] then
    kept = { k }
    local last = 0
    for age = 0, SLOTS do
      if counts[age] ~= 0 then last = age end
    end
    for age = 0, last do kept[2 + age] = counts[age] end
  end
  return false, kept, whole_floor(limit - after), reset, retry, 0
end
`

/**
 * Concurrency: at most L requests (cost units) of a key in flight at once. A check takes
 * permits and the Decision's `release()` gives them back; a permit never released (a handler
 * that crashed, an instance killed) is reclaimed once `window` has passed, so no capacity
 * leaks for good.
 *
 * Guarantees: never more than L permits held at once; a permit is reclaimed no sooner than W
 * after it was taken and no later than W + W/8. `retryAfterMs` on a denial is the wait until
 * enough permits are reclaimed if none is released; releases usually come sooner.
 * Pro: limits work in progress (slow endpoints, expensive queries) rather than a rate; in Redis
 * the permits are shared by every instance and reclaimed by the same arithmetic.
 * Con: W must be longer than the slowest request, or permits of live requests are reclaimed
 * while they still run.
 *
 * State: `[head, c0, ..., c8]` — the newest slot index (slots W/8 wide, aligned to the epoch)
 * and the permits taken in it and in each of the 8 slots before it, newest first. The Redis
 * store leaves out trailing empty slots.
 */
export const concurrency: Algorithm = {
  stateSize: STATE_SIZE,
  acceptsBurst: false,
  permits: true,
  lua: LUA,
  stepInto,
  step: stepFromStepInto(stepInto, STATE_SIZE),
  refund,
  luaRefund: LUA_REFUND,
}
