/**
 * Lua scripts of the gate. ioredis sends them with EVALSHA and reloads a
 * script on NOSCRIPT (defineCommand), so a Redis restart costs one round trip.
 */

/**
 * Preheat/sync: write the sale's settings; set `remaining` only when the gate
 * does not exist yet, so stock already taken is never overwritten.
 * KEYS: state. ARGV: stock, available, startsAt, endsAt, limit, paused, price.
 * Returns remaining.
 */
export const SYNC_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'remaining', ARGV[2])
end
redis.call('HSET', KEYS[1], 'stock', ARGV[1], 'startsAt', ARGV[3], 'endsAt', ARGV[4],
  'limit', ARGV[5], 'paused', ARGV[6], 'price', ARGV[7])
return tonumber(redis.call('HGET', KEYS[1], 'remaining'))
`;

/**
 * Settings only (window, limit, pause, price) of a gate that exists; no-op otherwise.
 * KEYS: state. ARGV: field, value, field, value, ...
 * Returns 1 when written, 0 when the gate is not preheated.
 */
export const UPDATE_SETTINGS_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

/**
 * Stock change of a preheated gate. A decrease only succeeds while at least
 * that many units remain, so lowering stock can never undo a sale. An
 * increase announces the restock (same script: ordered with sold-out news).
 * KEYS: state. ARGV: delta, channel, saleId.
 * Returns {status, remaining}: status 1 done, 0 not preheated, -1 refused.
 */
export const ADJUST_STOCK_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, -1} end
local delta = tonumber(ARGV[1])
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining'))
if remaining + delta < 0 then return {-1, remaining} end
redis.call('HINCRBY', KEYS[1], 'stock', delta)
remaining = redis.call('HINCRBY', KEYS[1], 'remaining', delta)
if delta > 0 then redis.call('PUBLISH', ARGV[2], 'restock:' .. ARGV[3]) end
return {1, remaining}
`;

/**
 * Admission: one atomic decision per purchase request.
 * KEYS: state, buyers, pending, pendingAt, stats, userRate, ipRate, idempotency.
 * ARGV: userId, quantity, orderId, nowMs, backlogCap, ticket, userRateMax,
 *       ipRateMax (0 = off), useIdempotency (0|1), idempotencyTtlSec, channel, saleId.
 * Returns {code, remaining, orderId}. code: OK, REPLAY (orderId of the first
 * admission under that idempotency key), NOT_READY (no gate), RATE_LIMITED,
 * SALE_NOT_ACTIVE, LIMIT_EXCEEDED, SOLD_OUT, BUSY.
 * Checks in order: rate limits, window and pause, the buyer's limit, stock,
 * backlog. Sold out (remaining 0) is published so every API copy raises its
 * local flag; publishing here orders it with restock news.
 */
export const ADMIT_LUA = `
local useIdem = ARGV[9] == '1'
if useIdem then
  local prior = redis.call('GET', KEYS[8])
  if prior then return {'REPLAY', '-1', prior} end
end
local function refuse(code, remaining)
  redis.call('HINCRBY', KEYS[5], code, 1)
  return {code, tostring(remaining), ''}
end
local rate = redis.call('INCR', KEYS[6])
if rate == 1 then redis.call('PEXPIRE', KEYS[6], 2000) end
if rate > tonumber(ARGV[7]) then return refuse('RATE_LIMITED', -1) end
if tonumber(ARGV[8]) > 0 then
  local ipRate = redis.call('INCR', KEYS[7])
  if ipRate == 1 then redis.call('PEXPIRE', KEYS[7], 2000) end
  if ipRate > tonumber(ARGV[8]) then return refuse('RATE_LIMITED', -1) end
end
local s = redis.call('HMGET', KEYS[1], 'remaining', 'startsAt', 'endsAt', 'limit', 'paused')
if not s[1] then return {'NOT_READY', '-1', ''} end
local remaining = tonumber(s[1])
local now = tonumber(ARGV[4])
if s[5] == '1' or now < tonumber(s[2]) or now >= tonumber(s[3]) then return refuse('SALE_NOT_ACTIVE', remaining) end
local qty = tonumber(ARGV[2])
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if held + qty > tonumber(s[4]) then return refuse('LIMIT_EXCEEDED', remaining) end
if remaining < qty then
  if remaining == 0 then redis.call('PUBLISH', ARGV[11], 'soldout:' .. ARGV[12]) end
  return refuse('SOLD_OUT', remaining)
end
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[5]) then return refuse('BUSY', remaining) end
remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -qty)
redis.call('HINCRBY', KEYS[2], ARGV[1], qty)
redis.call('HSET', KEYS[3], ARGV[3], ARGV[6])
redis.call('ZADD', KEYS[4], now, ARGV[3])
redis.call('HINCRBY', KEYS[5], 'admitted', 1)
redis.call('HINCRBY', KEYS[5], 'admittedUnits', qty)
if useIdem then redis.call('SET', KEYS[8], ARGV[3], 'EX', tonumber(ARGV[10])) end
if remaining == 0 then redis.call('PUBLISH', ARGV[11], 'soldout:' .. ARGV[12]) end
return {'OK', tostring(remaining), ARGV[3]}
`;

/**
 * Gives an order's units back to the gate (inventory refused it, or it was
 * cancelled): remaining and the buyer's count, once per order whatever the
 * retries (the released set), and announces the restock.
 * KEYS: state, buyers, released, pending, pendingAt.
 * ARGV: orderId, userId, quantity, channel, saleId.
 * Returns 1 when given back now, 0 when already given back or no gate.
 */
export const RELEASE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then return 0 end
local qty = tonumber(ARGV[3])
redis.call('HINCRBY', KEYS[1], 'remaining', qty)
if redis.call('HINCRBY', KEYS[2], ARGV[2], -qty) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('PUBLISH', ARGV[4], 'restock:' .. ARGV[5])
return 1
`;
