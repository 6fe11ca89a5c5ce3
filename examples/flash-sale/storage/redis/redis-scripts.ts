/**
 * The sale's Lua scripts. Each is one atomic step on the Redis server, the twin of one
 * synchronous method of `MemorySaleState`. Every key lives under the sale's hash tag
 * (`fs:{sale}:...`), so the scripts also run unchanged on a Redis Cluster. Orders are kept as
 * JSON in one hash, so every key a script touches is declared in KEYS.
 */

/** The keys of one sale, in the order the scripts expect them. */
export function saleKeys(saleId: string) {
  const at = (name: string) => `fs:{${saleId}}:${name}`
  return {
    meta: at('meta'),
    stock: at('stock'),
    eligible: at('eligible'),
    orders: at('orders'),
    holder: at('holder'),
    last: at('last'),
    idempotency: at('idempotency'),
    sequence: at('sequence'),
    closures: at('closures'),
    outbox: at('outbox'),
    outboxState: at('outbox:state'),
    outboxAttempts: at('outbox:attempts'),
    outboxDue: at('outbox:due'),
  }
}

export type SaleKeys = ReturnType<typeof saleKeys>

/** KEYS: meta, stock. Creates the sale unless it exists; returns the stored meta either way. */
export const OPEN_LUA = `
local saleId = ARGV[1]          -- sale id
local stockTotal = ARGV[2]      -- items on sale
local startsAt = ARGV[3]        -- epoch ms
local paymentWindowMs = ARGV[4] -- ms
local maxReservations = ARGV[5] -- most users holding eligibility
if redis.call('HSETNX', KEYS[1], 'saleId', saleId) == 1 then
  redis.call('HSET', KEYS[1], 'stockTotal', stockTotal, 'startsAt', startsAt, 'paymentWindowMs', paymentWindowMs,
    'maxReservations', maxReservations)
  redis.call('SET', KEYS[2], stockTotal)
end
return redis.call('HMGET', KEYS[1], 'saleId', 'stockTotal', 'startsAt', 'paymentWindowMs', 'maxReservations')
`

/** KEYS: meta, eligible. Idempotent eligibility, capped at the sale's maxReservations. */
export const RESERVE_LUA = `
local user = ARGV[1] -- account id
if redis.call('SISMEMBER', KEYS[2], user) == 1 then return 'already-reserved' end
local max = tonumber(redis.call('HGET', KEYS[1], 'maxReservations'))
if redis.call('SCARD', KEYS[2]) >= max then return 'full' end
redis.call('SADD', KEYS[2], user)
return 'reserved'
`

/**
 * KEYS: meta, eligible, holder, last, idempotency, stock, sequence, orders, closures.
 * The stock script: eligibility, one live order per user, stock > 0, decrement, record the
 * order, schedule its closure. Returns { outcome, orderJson? }.
 */
export const PURCHASE_LUA = `
local user = ARGV[1]           -- account id
local key = ARGV[2]            -- idempotency key from the client
local now = tonumber(ARGV[3])  -- epoch ms, the shop's clock
local field = user .. '|' .. key
local replayed = redis.call('HGET', KEYS[5], field)
if replayed then return { 'replayed', redis.call('HGET', KEYS[8], replayed) } end
if redis.call('SISMEMBER', KEYS[2], user) == 0 then return { 'not-eligible' } end
local held = redis.call('HGET', KEYS[3], user)
if held then return { 'already-ordered', redis.call('HGET', KEYS[8], held) } end
local stock = tonumber(redis.call('GET', KEYS[6]) or '0')
if stock <= 0 then return { 'sold-out' } end
redis.call('DECR', KEYS[6])
local meta = redis.call('HMGET', KEYS[1], 'saleId', 'paymentWindowMs')
local sequence = redis.call('INCR', KEYS[7])
local id = meta[1] .. '-' .. string.format('%06d', sequence)
local payBy = now + tonumber(meta[2])
local order = cjson.encode({ id = id, user = user, status = 'pending', createdAt = now, payBy = payBy })
redis.call('HSET', KEYS[8], id, order)
redis.call('HSET', KEYS[3], user, id)
redis.call('HSET', KEYS[4], user, id)
redis.call('HSET', KEYS[5], field, id)
redis.call('ZADD', KEYS[9], payBy, id)
return { 'created', order }
`

/**
 * KEYS: orders, closures, outbox, outboxState, outboxDue.
 * pending → paid, unschedule the closure and record the outbox message, all in one step.
 */
export const PAY_LUA = `
local id = ARGV[1]             -- order id
local user = ARGV[2]           -- account id of the payer
local now = tonumber(ARGV[3])  -- epoch ms
local raw = redis.call('HGET', KEYS[1], id)
if not raw then return { 'not-found' } end
local order = cjson.decode(raw)
if order.user ~= user then return { 'not-found' } end
if order.status == 'paid' then return { 'already-paid', raw } end
if order.status ~= 'pending' then return { 'closed', raw } end
if now >= order.payBy then return { 'expired', raw } end
order.status = 'paid'
order.paidAt = now
raw = cjson.encode(order)
redis.call('HSET', KEYS[1], id, raw)
redis.call('ZREM', KEYS[2], id)
local messageId = 'paid:' .. id
local message = cjson.encode({ id = messageId, type = 'order-paid', orderId = id, user = user, createdAt = now })
redis.call('HSET', KEYS[3], messageId, message)
redis.call('HSET', KEYS[4], messageId, 'pending')
redis.call('ZADD', KEYS[5], now, messageId)
return { 'paid', raw }
`

/** KEYS: orders, closures, stock, holder. pending → closed after the window; the stock goes back. */
export const CLOSE_LUA = `
local id = ARGV[1]             -- order id
local now = tonumber(ARGV[2])  -- epoch ms
local raw = redis.call('HGET', KEYS[1], id)
if not raw then
  redis.call('ZREM', KEYS[2], id)
  return { 'not-found' }
end
local order = cjson.decode(raw)
if order.status ~= 'pending' then
  redis.call('ZREM', KEYS[2], id)
  return { 'not-pending', raw }
end
if now < order.payBy then return { 'not-due', raw } end
order.status = 'closed'
order.closedAt = now
raw = cjson.encode(order)
redis.call('HSET', KEYS[1], id, raw)
redis.call('INCR', KEYS[3])
if redis.call('HGET', KEYS[4], order.user) == id then redis.call('HDEL', KEYS[4], order.user) end
redis.call('ZREM', KEYS[2], id)
return { 'closed', raw }
`

/**
 * KEYS: outbox, outboxState, outboxAttempts, outboxDue.
 * Hands out due messages and pushes each one's due time `leaseMs` ahead, so a relay that dies
 * mid-delivery only delays the message. Returns a flat list: id, attempt, json, id, ...
 */
export const CLAIM_OUTBOX_LUA = `
local now = tonumber(ARGV[1])    -- epoch ms
local leaseMs = tonumber(ARGV[2]) -- ms a claimed message stays hidden
local max = tonumber(ARGV[3])    -- most messages per claim
local ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, max)
local out = {}
for _, id in ipairs(ids) do
  if redis.call('HGET', KEYS[2], id) == 'pending' then
    local attempt = redis.call('HINCRBY', KEYS[3], id, 1)
    redis.call('ZADD', KEYS[4], now + leaseMs, id)
    table.insert(out, id)
    table.insert(out, attempt)
    table.insert(out, redis.call('HGET', KEYS[1], id))
  else
    redis.call('ZREM', KEYS[4], id)
  end
end
return out
`

/** KEYS: outboxState, outboxDue. */
export const ACK_OUTBOX_LUA = `
local id = ARGV[1] -- message id
redis.call('HSET', KEYS[1], id, 'delivered')
redis.call('ZREM', KEYS[2], id)
return 1
`

/** KEYS: outboxState, outboxAttempts, outboxDue. Another attempt after a backoff, or dead. */
export const FAIL_OUTBOX_LUA = `
local id = ARGV[1]                    -- message id
local now = tonumber(ARGV[2])         -- epoch ms
local maxAttempts = tonumber(ARGV[3]) -- attempts before the message is parked
local backoffMs = tonumber(ARGV[4])   -- wait before the 2nd attempt; doubles after
if redis.call('HGET', KEYS[1], id) ~= 'pending' then return 'dead' end
local attempts = tonumber(redis.call('HGET', KEYS[2], id) or '0')
if attempts >= maxAttempts then
  redis.call('HSET', KEYS[1], id, 'dead')
  redis.call('ZREM', KEYS[3], id)
  return 'dead'
end
redis.call('ZADD', KEYS[3], now + backoffMs * 2 ^ (attempts - 1), id)
return 'retry'
`
