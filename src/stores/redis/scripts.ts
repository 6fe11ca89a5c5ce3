import type { Algorithm } from '../../algorithm'

/**
 * One reply string per rule: `allowed remaining resetMs retryAfterMs delayMs`, space-separated;
 * with `reserve`, followed by ` written replaced` (states, '' for none). One bulk string per
 * rule rather than five keeps both ioredis and Redis busy with less framing.
 */
export const VERDICT_SEPARATOR = ' '

/**
 * Builds the one script that decides whole checks inside Redis: for each check, every rule's
 * step runs on the state read from its key, then the states of the rules that allowed are
 * written only if every enforcing rule allowed (the commit rule of the memory store). Several checks
 * may share one call; they are decided in order, exactly as if sent one by one.
 *
 * Algorithms are referred to by their position in `algorithms`, so the script changes only
 * when an algorithm the store has not seen before appears.
 */
export function buildEvaluateScript(algorithms: readonly Algorithm[]): string {
  const steps = algorithms
    .map((algorithm, i) => `steps[${i + 1}] = (function()\n${algorithm.lua}\nend)()`)
    .join('\n')
  return `${PRELUDE}${HELPERS}
local steps = {}
${steps}
${BODY}`
}

/** What a key's `blockFor` penalty is kept under: the state key and this, in the same slot. */
export const BLOCK_KEY_SUFFIX = ':b'

/**
 * Builds the script that gives units back (`Limiter.refund`): for each key, the state is read,
 * the rule's algorithm's Lua `refund` runs on it with Redis time, and what it returns is
 * written back with the key's expiry as it was (a refund only makes the state matter for less
 * long). Algorithms are numbered as in {@link buildEvaluateScript}; one without `luaRefund` has
 * none here (the store refuses to refund its rules).
 * KEYS: the rules' state keys. ARGV: the test clock ('' = TIME), the cost, how long ago the
 * units were taken ('' = unknown; see `Algorithm.refund`'s `heldMs`), then one rule argument
 * per key (as for the evaluate script).
 */
export function buildRefundScript(algorithms: readonly Algorithm[]): string {
  const refunds = algorithms
    .map((algorithm, i) =>
      algorithm.luaRefund === undefined
        ? ''
        : `refunds[${i + 1}] = (function()\n${algorithm.luaRefund}\nend)()`,
    )
    .join('\n')
  return `-- Diana: give units back to rule states (Limiter.refund).
local now_arg = ARGV[1]            -- epoch ms to use instead of TIME; '' in production (tests only)
local cost = tonumber(ARGV[2])     -- units to give back
local held_ms = tonumber(ARGV[3])  -- ms since they were taken; nil when unknown

if redis.replicate_commands then pcall(redis.replicate_commands) end
${HELPERS}
local refunds = {}
${refunds}
${READ_NOW}
local given = 0
for r = 1, #KEYS do
  local def = rule_def(ARGV[3 + r])
  local refund = refunds[def[1]]
  local raw = redis.call('GET', KEYS[r])
  if raw and refund then
    local next_state = refund(decode(raw), now, cost, def[2], def[3], def[4], def[5], held_ms)
    if next_state ~= nil then
      local encoded = encode(next_state)
      if encoded ~= raw then
        redis.call('SET', KEYS[r], encoded, 'KEEPTTL')
        given = given + 1
      end
    end
  end
end
return given
`
}

// Number formatting: %.17g round-trips every double, and replies carry strings because Redis
// truncates Lua numbers to integers (a delay of 2.5 ms or 0.4 tokens must survive).
const PRELUDE = `-- Diana: decide checks against their rules, all-or-nothing per check.
local now_arg = ARGV[1]            -- epoch ms to use instead of TIME; '' in production (tests only)
local min_ttl = tonumber(ARGV[2])  -- ms, a lower bound for key expiry (tests with a fake clock)
local reserve = ARGV[3] == '1'     -- '1': also reply the states written and replaced (Cluster)
local peek = ARGV[3] == '2'        -- '2': decide only, write nothing (Limiter.peek)
local check_count = tonumber(ARGV[4])

if redis.replicate_commands then pcall(redis.replicate_commands) end
`

/** `now` in epoch ms: Redis's clock, or `now_arg` where a test drives the time. */
export const READ_NOW = `local now
if now_arg ~= '' then
  now = tonumber(now_arg)
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end`

/**
 * Helpers both scripts use: number formatting, state encoding, rule arguments. `INF`,
 * `whole_floor` and `whole_ceil` are also promised to registered algorithms' Lua (see
 * `Algorithm.lua`), so they stay even when no built-in twin uses one.
 */
export const HELPERS = `
local INF = math.huge
local function whole_floor(x) return math.max(0, math.floor(x + 1e-9)) end
local function whole_ceil(x) return math.max(0, math.ceil(x - 1e-9)) end
local function num(x)
  if x == INF then return 'Infinity' end
  return string.format('%.17g', x)
end
-- Whole numbers (window indexes, counts, epoch ms) print with %d, which is cheaper than %.17g.
local function whole(x)
  if x == 0 then return '0' end
  if x == math.floor(x) and x > -1e15 and x < 1e15 then return string.format('%d', x) end
  return num(x)
end
-- Key expiry in ms for SET PX: at least 1 (and min_ttl), at most MAX_TTL_MS (about 31,700
-- years), so that no resetMs, however large, can make SET fail ('invalid expire time', or a
-- negative number from %d past 2^63) and with it the whole call and every check in it.
local MAX_TTL_MS = 1e12 * 1000
local function ttl_of(ms)
  local ttl = math.max(1, math.ceil(ms), min_ttl)
  if ttl ~= ttl or ttl > MAX_TTL_MS then ttl = MAX_TTL_MS end
  return string.format('%d', ttl)
end
local function encode(state)
  if #state == 1 then return whole(state[1]) end
  if #state == 2 then return whole(state[1]) .. ',' .. whole(state[2]) end
  local parts = {}
  for i = 1, #state do parts[i] = whole(state[i]) end
  return table.concat(parts, ',')
end
local defs = {}
-- A rule travels as one argument, 'slot,limit,window,burst,mode,shadow,blockMs', parsed once
-- per call; burst, mode and blockMs are '' when unset.
local function rule_def(arg)
  local def = defs[arg]
  if def == nil then
    local slot, limit, window, burst, mode, shadow, block = string.match(arg, '^(%d+),([^,]*),([^,]*),([^,]*),([^,]*),(%d),([^,]*)$')
    def = { tonumber(slot), tonumber(limit), tonumber(window), tonumber(burst), mode ~= '' and mode or nil, shadow == '1', tonumber(block) }
    defs[arg] = def
  end
  return def
end
local function decode(raw)
  local a, b = string.match(raw, '^([^,]*),([^,]*)$')
  if a ~= nil then return { tonumber(a), tonumber(b) } end
  local state = {}
  for part in string.gmatch(raw, '[^,]+') do state[#state + 1] = tonumber(part) end
  return state
end
`

const BODY = `
${READ_NOW}

-- One MGET for every key of the call; a later check of the same call sees what an earlier
-- one wrote through \`written\`, exactly as if the checks had been sent one by one.
local stored = redis.call('MGET', unpack(KEYS))
local written = {}
-- Once the expiry (resetMs, or the step's keepMs) has passed the state means the same as none.
local function put(key, encoded, ms)
  written[key] = encoded
  redis.call('SET', key, encoded, 'PX', ttl_of(ms))
end
local out = {}
local a = 5
local key_index = 0
for c = 1, check_count do
  local cost = tonumber(ARGV[a])
  local rule_count = tonumber(ARGV[a + 1])
  a = a + 2
  local admitted = true
  local first_out = #out
  local raws, nexts, ttls = {}, {}, {}
  for r = 1, rule_count do
    local raw = written[KEYS[key_index + r]]
    if raw == nil then raw = stored[key_index + r] end
    local state = nil
    if raw then state = decode(raw) end
    raws[r] = raw or ''
    local def = rule_def(ARGV[a])
    local key = KEYS[key_index + r]
    local allowed, next_state, remaining, reset, retry, delay, keep =
      steps[def[1]](state, now, cost, def[2], def[3], def[4], def[5])
    -- blockFor: the penalty's end (epoch ms) lives beside the state, in the same slot. It is
    -- compared with now, not left to the key's expiry alone, so that it follows the same clock
    -- as the state.
    local block_ms = def[7]
    local blocked = false
    if block_ms then
      local block_key = key .. '${BLOCK_KEY_SUFFIX}'
      local till = written[block_key]
      if till == nil then till = redis.call('GET', block_key) end
      till = tonumber(till)
      if till and till > now then
        -- The clock stepped back (or blockFor was shortened): at most blockFor from now.
        if till - now > block_ms then
          till = now + block_ms
          if not peek then put(block_key, whole(till), block_ms) end
        end
        blocked = true
        if allowed then retry = 0 end
        allowed = false
        remaining = 0
        reset = math.max(reset, till - now)
        retry = math.max(retry, till - now)
        delay = 0
      end
    end
    if allowed then
      nexts[r] = next_state
      ttls[r] = keep or reset
    else
      if not def[6] then admitted = false end
      -- A denial consumes nothing, but a step may move an existing state on without consuming
      -- (a bucket re-anchors its time after the clock stepped back): kept, so its wait holds.
      -- The built-in steps return the state table itself when a denial leaves it as it was,
      -- so the usual denial costs neither an encoding nor a (replicated) write; another table
      -- is written only if it encodes differently. A key already blocked moves nothing on.
      if not blocked then
        if not peek and raw and next_state ~= nil and next_state ~= state then
          local encoded = encode(next_state)
          if encoded ~= raw then put(key, encoded, keep or reset) end
        end
        if block_ms then
          if not peek then put(key .. '${BLOCK_KEY_SUFFIX}', whole(now + block_ms), block_ms) end
          remaining = 0
          reset = math.max(reset, block_ms)
          retry = math.max(retry, block_ms)
        end
      end
    end
    out[first_out + r] = (allowed and '1 ' or '0 ') .. whole(remaining) .. ' ' .. whole(reset) .. ' ' .. whole(retry) .. ' ' .. whole(delay)
    a = a + 1
  end
  if admitted and not peek then
    for r = 1, rule_count do
      local next_state = nexts[r]
      if next_state ~= nil then
        local encoded = encode(next_state)
        put(KEYS[key_index + r], encoded, ttls[r])
        if reserve then out[first_out + r] = out[first_out + r] .. ' ' .. encoded .. ' ' .. raws[r] end
      end
    end
  end
  if reserve then
    for r = 1, rule_count do
      if nexts[r] == nil or not admitted then out[first_out + r] = out[first_out + r] .. '  ' .. raws[r] end
    end
  end
  key_index = key_index + rule_count
end
return out
`

/**
 * Undoes a Cluster reservation: where a key still holds exactly the state the reservation
 * wrote, the state it replaced is put back. A key someone else has written since keeps its
 * value, so the reserved units stay counted (never fewer counted than admitted).
 * ARGV: per key, the state written and the state replaced ('' = none).
 */
export const RELEASE_SCRIPT = `-- Diana: release reserved states that nobody has overwritten since.
local released = 0
for i = 1, #KEYS do
  local written = ARGV[2 * i - 1]
  local replaced = ARGV[2 * i]
  if redis.call('GET', KEYS[i]) == written then
    if replaced == '' then redis.call('DEL', KEYS[i])
    else redis.call('SET', KEYS[i], replaced, 'KEEPTTL') end
    released = released + 1
  end
end
return released
`

/**
 * Announces this instance and counts the live ones: members are instance ids scored by the
 * server time of their last heartbeat; those older than the expiry are dropped.
 * KEYS[1]: the instances set. ARGV[1]: instance id. ARGV[2]: expiry in ms.
 */
export const HEARTBEAT_SCRIPT = `-- Diana: heartbeat, returns the number of live instances.
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - expiry)
redis.call('PEXPIRE', KEYS[1], expiry)
return redis.call('ZCARD', KEYS[1])
`
