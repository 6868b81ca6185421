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
 * that many units remain, so lowering stock can never undo a sale.
 * KEYS: state. ARGV: delta.
 * Returns {status, remaining}: status 1 done, 0 not preheated, -1 refused.
 */
export const ADJUST_STOCK_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, -1} end
local delta = tonumber(ARGV[1])
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining'))
if remaining + delta < 0 then return {-1, remaining} end
redis.call('HINCRBY', KEYS[1], 'stock', delta)
return {1, redis.call('HINCRBY', KEYS[1], 'remaining', delta)}
`;
