import type { Algorithm } from '../../../algorithm'
import { HELPERS, READ_NOW } from '../scripts'

/**
 * What every lease script does first: reads the rule, and walks the key's lease table (one
 * hash field per instance holding a slice: `units,expiresAt` in Redis time), dropping the
 * expired entries, so that an instance that died stops counting once its slice would have
 * ended anyway. `others` is what the other instances hold, `wanters` how many instances hold
 * or asked for a slice (this one included), `last_expiry` the latest end of another's slice.
 * KEYS[1]: the rule's state key; KEYS[2]: its lease table (same Cluster slot).
 */
const READ_LEASES = `
local others, wanters, last_expiry = 0, 1, now
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do
  local field = entries[i]
  if field ~= id then
    local units, expires = string.match(entries[i + 1], '^([^,]*),([^,]*)$')
    expires = tonumber(expires)
    if expires == nil or expires <= now then
      redis.call('HDEL', KEYS[2], field)
    else
      others = others + (tonumber(units) or 0)
      wanters = wanters + 1
      if expires > last_expiry then last_expiry = expires end
    end
  end
end
`

/**
 * Builds the script that hands out slices of a leased rule's quota (see docs/redis.md, "Leased
 * quotas"). A slice is taken as a check of its size would be, by the algorithm's own step on
 * the rule's state, so leased and exact instances count in one state and a slice can never
 * take what an exact check could not: grants never exceed the quota.
 *
 * - The size: what the instance asks (from its own rate), at most `maxSlice` with what it still
 *   holds (`held`), and at most a fair
 *   share of what is left (left ÷ instances holding or asking), so that a quiet instance
 *   cannot take what a busy one needs; but at least `need` (what the waiting check lacks),
 *   or nothing when that much is not left.
 * - How long it lasts: window algorithms to the end of the window it was taken in, since its
 *   units are counted there; buckets `ttl`. A bucket's capacity is reduced by the units other
 *   instances hold (and this one's `held`), so held and stored tokens together never exceed
 *   it: the bucket admits no more over any interval than it would exactly.
 *
 * Algorithms are numbered as in `buildEvaluateScript`. ARGV: the test clock ('' = TIME),
 * the minimum key TTL, the rule argument, the instance id, ask, need, held (units this
 * instance still holds, kept on with the new slice), 'w' or 'b' (window or bucket), ttl (ms,
 * buckets), maxSlice. Reply: `grant life left retry reset`: units granted, ms the slice lasts
 * from now, units left in the pool, ms until a slice worth asking for is there (when the grant
 * fell short of `need`), and the step's `resetMs`.
 */
export function buildLeaseScript(algorithms: readonly Algorithm[]): string {
  const steps = algorithms
    .map((algorithm, i) =>
      algorithm.lease === undefined ? '' : `steps[${i + 1}] = (function()\n${algorithm.lua}\nend)()`,
    )
    .join('\n')
  return `-- Diana: hand a slice of a leased rule's quota to one instance.
local now_arg = ARGV[1]
local min_ttl = tonumber(ARGV[2])
if redis.replicate_commands then pcall(redis.replicate_commands) end
${HELPERS}
local steps = {}
${steps}
${READ_NOW}
local def = rule_def(ARGV[3])
local step = steps[def[1]]
local limit, window, burst, mode = def[2], def[3], def[4], def[5]
local id = ARGV[4]
local ask, need, held = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local bucket = ARGV[8] == 'b'
local max_slice = tonumber(ARGV[10])
local life
if bucket then life = tonumber(ARGV[9]) else life = (math.floor(now / window) + 1) * window - now end
${READ_LEASES}
if bucket then burst = math.max(0, (burst or limit) - others - held) end

local raw = redis.call('GET', KEYS[1])
local state = nil
if raw then state = decode(raw) end
-- A bucket's held tokens are counted from the table here, not from the state (see below).
if bucket and state ~= nil then state = { state[1], state[2] } end
local _, _, left, reset = step(state, now, 0, limit, window, burst, mode)
local fair = math.max(1, math.floor(left / wanters))
-- What the instance holds with the new slice stays within max_slice (unless the waiting check
-- needs more): the next slice is asked for before the last is spent, and held units are kept.
local want = math.max(need, math.min(ask, fair, max_slice - held))
local grant = 0
if want > 0 and want <= left then
  local allowed, next_state, remaining, reset_after, _, _, keep = step(state, now, want, limit, window, burst, mode)
  if allowed then
    grant = want
    left = remaining
    reset = reset_after
    state = next_state
    if not bucket then redis.call('SET', KEYS[1], encode(next_state), 'PX', ttl_of(keep or reset_after)) end
  end
end
redis.call('HSET', KEYS[2], id, whole(held + grant) .. ',' .. whole(now + life))
redis.call('PEXPIRE', KEYS[2], ttl_of(math.max(life, last_expiry - now)))
if bucket then
  -- The tokens held travel in the state until the last slice ends, so that an exact decision
  -- of the key (an instance without lease, or this one's fallback to exact) keeps them out of
  -- the bucket too (see the token bucket's Lua); the key lives until then.
  local till = math.max(last_expiry, now + life)
  local tokens = state or { burst, now }
  redis.call('SET', KEYS[1], encode({ tokens[1], tokens[2], others + held + grant, till }), 'PX', ttl_of(math.max(reset, till - now)))
end
local retry = 0
if grant < need or (grant == 0 and want > 0) then
  local target = math.max(need, 1, math.min(ask, max_slice))
  local _, _, _, _, wait = step(state, now, target, limit, window, burst, mode)
  retry = wait
  if retry == INF or retry < 1 then retry = math.max(1, math.min(life, last_expiry - now)) end
end
return whole(grant) .. ' ' .. whole(life) .. ' ' .. whole(left) .. ' ' .. whole(retry) .. ' ' .. whole(reset)
`
}

/**
 * Builds the script that hands a slice's unused units back (on close, or when the instance
 * drops the key): the instance's lease entry goes, and the units go back to the state through
 * the algorithm's Lua `refund` (a window's count only while that window lasts; a bucket's
 * tokens up to its capacity less what the others hold). ARGV: the test clock, the minimum key
 * TTL (unused), the rule argument, the instance id, the units, 'w' or 'b'.
 */
export function buildGiveBackScript(algorithms: readonly Algorithm[]): string {
  const refunds = algorithms
    .map((algorithm, i) =>
      algorithm.lease === undefined || algorithm.luaRefund === undefined
        ? ''
        : `refunds[${i + 1}] = (function()\n${algorithm.luaRefund}\nend)()`,
    )
    .join('\n')
  return `-- Diana: give a leased slice's unused units back.
local now_arg = ARGV[1]
local min_ttl = tonumber(ARGV[2])
if redis.replicate_commands then pcall(redis.replicate_commands) end
${HELPERS}
local refunds = {}
${refunds}
${READ_NOW}
local def = rule_def(ARGV[3])
local id = ARGV[4]
local units = tonumber(ARGV[5])
local bucket = ARGV[6] == 'b'
${READ_LEASES}
redis.call('HDEL', KEYS[2], id)
local burst = def[4]
if bucket then burst = math.max(0, (burst or def[2]) - others) end
local refund = refunds[def[1]]
local raw = redis.call('GET', KEYS[1])
if raw and bucket then
  -- The state carries the tokens held (see buildLeaseScript): now the others' alone.
  local state = decode(raw)
  state = { state[1], state[2] }
  if refund and units > 0 then state = refund(state, now, units, def[2], def[3], burst, def[5]) or state end
  if last_expiry > now then
    state[3] = others
    state[4] = last_expiry
  end
  redis.call('SET', KEYS[1], encode(state), 'KEEPTTL')
elseif raw and refund and units > 0 then
  local next_state = refund(decode(raw), now, units, def[2], def[3], burst, def[5])
  if next_state ~= nil then redis.call('SET', KEYS[1], encode(next_state), 'KEEPTTL') end
end
return 1
`
}

/** What the lease table of the state key `key` is kept under (same Cluster slot). */
export const LEASE_KEY_SUFFIX = ':l'
