/**
 * Lua scripts of the gate. ioredis sends them with EVALSHA and reloads a
 * script on NOSCRIPT (defineCommand), so a Redis restart costs one round trip.
 */

/**
 * How a gate counts its admissions (state field `tally`). `tickets` (every
 * gate built since): admitted = tickets settled (stats `settled`: cleared
 * because their orders were persisted, or given back while pending) + tickets
 * pending, both moved in the same atomic step, so an admission costs no
 * counter of its own. Absent (a gate built by an older version): the stats'
 * `admitted`, raised by each admission.
 */
export const GATE_TALLY = 'tickets';

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
 * Stock change of a preheated gate, from one stock of record to the next
 * (compare and set on the gate's `stock`, so a change is applied once even
 * when a rebuild already wrote the new stock). A decrease only succeeds while
 * at least that many units remain, so lowering stock can never undo a sale.
 * An increase announces the restock (same script: ordered with sold-out news).
 * KEYS: state. ARGV: from stock, to stock, channel, saleId.
 * Returns {status, remaining}: 1 done (or already done), 0 not preheated,
 * -1 refused (too few units remain), -2 the gate's stock is neither from nor to.
 */
export const ADJUST_STOCK_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, -1} end
local from = tonumber(ARGV[1])
local to = tonumber(ARGV[2])
local stock = tonumber(redis.call('HGET', KEYS[1], 'stock'))
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining'))
if stock == to then return {1, remaining} end
if stock ~= from then return {-2, remaining} end
local delta = to - from
if remaining + delta < 0 then return {-1, remaining} end
redis.call('HSET', KEYS[1], 'stock', to)
remaining = redis.call('HINCRBY', KEYS[1], 'remaining', delta)
if delta > 0 then redis.call('PUBLISH', ARGV[3], 'restock:' .. ARGV[4]) end
return {1, remaining}
`;
/**
 * Units moved into a bucket by a transfer (see TAKE_LUA), applied once per
 * transfer id, and only while the bucket is in the epoch the units left their
 * donor in (a rebuild since has counted them where they were). Returns 1 when applied.
 */
const GIVE_FN = `
local function give(state, received, id, units, epoch, now)
  if redis.call('HGET', state, 'epoch') ~= epoch or redis.call('ZSCORE', received, id) then return 0 end
  redis.call('ZADD', received, now, id)
  redis.call('ZREMRANGEBYSCORE', received, '-inf', now - 3600000)
  redis.call('HINCRBY', state, 'stock', units)
  redis.call('HINCRBY', state, 'remaining', units)
  return 1
end
`;

/**
 * Admission: one atomic decision per purchase request, in the shopper's home
 * bucket (the whole gate when the sale has one bucket).
 * KEYS: state, buyers, pending, pendingAt, stats, rate (the bucket's rate window
 *       of this second), rate of the second before, idempotency, transfersIn, admissionsUsed.
 * ARGV: userId, quantity, orderId, nowMs, backlogCap, ticket, userRateMax,
 *       ipRateMax (0 = off), useIdempotency (0|1), idempotencyTtlSec, channel, saleId,
 *       buckets (as the caller believes), transferId ('' = none), units, epoch,
 *       admission ('' = none: "<userId>:<issuedMs>", its signature checked by the caller),
 *       admission issued at (ms, Redis time), ip, second (of nowMs: the one the rate key names).
 * On a sale with a waiting room (state field `room` = 1) a purchase needs an
 * admission: none is ADMISSION_REQUIRED, one issued before this gate was
 * built (a Redis that lost its data forgot which were used) ADMISSION_INVALID,
 * one already used ADMISSION_USED. The admission is marked used only with an
 * OK, in the same call as the stock decrement: a refusal leaves it usable.
 * A transfer named first adds units taken from another bucket (once per transfer id).
 * The same call sent twice (a client library re-sends a command whose answer
 * it lost with the connection) is applied once: a ticket already pending under
 * this orderId is answered OK again and nothing else changes.
 * Returns {code, remaining, orderId}. code: OK, REPLAY (orderId of the first
 * admission under that idempotency key), NOT_READY (no gate), LAYOUT (the sale
 * has another bucket count: the second field), RATE_LIMITED, SALE_NOT_ACTIVE,
 * LIMIT_EXCEEDED, SOLD_OUT, DRY (this bucket has too few units; only with
 * several buckets, where the caller draws on the others), BUSY,
 * ADMISSION_REQUIRED, ADMISSION_INVALID, ADMISSION_USED.
 * Checks in order: rate limits, the admission, window and pause, the buyer's
 * limit, stock, backlog. Sold out (remaining 0, one bucket) is published so every API copy
 * raises its local flag; publishing here orders it with restock news.
 *
 * Few commands per admission (each is work for Redis; 8 with the EVALSHA):
 * the rate limits are fields (`u:<userId>`, `ip:<ip>`) of one hash per bucket
 * and second, kept 2 s: the expiry is set when the bucket's newest second
 * (state `rateWindow`) moves on, on that second's hash and the one before (a
 * late call may have made it again after it expired), and by every call of a
 * second older than the newest. The buyer's count is added first and taken
 * back on a refusal; the re-sent call is recognised by HSETNX of the ticket,
 * and on the way out of every call that admits nothing by its pending ticket.
 * Whatever this call wrote is taken back, in the same atomic step, on every
 * answer but OK: a refusal changes its rate counts and the outcome counter only
 * (as before), a re-sent call nothing.
 */
export const ADMIT_LUA = `${GIVE_FN}
local now = tonumber(ARGV[4])
if ARGV[14] ~= '' then give(KEYS[1], KEYS[9], ARGV[14], tonumber(ARGV[15]), ARGV[16], now) end
local s = redis.call('HMGET', KEYS[1], 'remaining', 'startsAt', 'endsAt', 'limit', 'paused', 'buckets', 'room', 'builtAt',
  'rateWindow', 'tally')
local current = tostring(s[1] or '-1')
local useIdem = ARGV[9] == '1'
if useIdem then
  local prior = redis.call('GET', KEYS[8])
  if prior == ARGV[3] then return {'OK', current, ARGV[3]} end
  if prior then return {'REPLAY', '-1', prior} end
end
local qty = tonumber(ARGV[2])
local rated = {}
local held = nil
local function undo(rate)
  if held then
    if held <= qty then redis.call('HDEL', KEYS[2], ARGV[1]) else redis.call('HINCRBY', KEYS[2], ARGV[1], -qty) end
    held = nil
  end
  if rate then
    -- A field back at 0 stays: a hash emptied here would be made again without its expiry.
    for field in pairs(rated) do redis.call('HINCRBY', KEYS[6], field, -1) end
  end
end
local function decline(code, remaining, counted, soldOut)
  undo(false)
  if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then
    undo(true)
    return {'OK', current, ARGV[3]}
  end
  if soldOut then redis.call('PUBLISH', ARGV[11], 'soldout:' .. ARGV[12]) end
  if counted then redis.call('HINCRBY', KEYS[5], code, 1) end
  return {code, tostring(remaining), ''}
end
local function refuse(code, remaining) return decline(code, remaining, true, false) end
local buckets = tonumber(ARGV[13])
if s[1] and tonumber(s[6] or '1') ~= buckets then return decline('LAYOUT', s[6] or '1', false, false) end
local function over(field, max)
  local n = redis.call('HINCRBY', KEYS[6], field, 1)
  rated[field] = true
  return n > max
end
local limited = over('u:' .. ARGV[1], tonumber(ARGV[7]))
local second = tonumber(ARGV[20])
local window = tonumber(s[9] or '0')
if second ~= window or not s[1] then
  redis.call('PEXPIRE', KEYS[6], 2000)
  if s[1] and second > window then
    redis.call('HSET', KEYS[1], 'rateWindow', second)
    redis.call('PEXPIRE', KEYS[7], 2000)
  end
end
if limited then return refuse('RATE_LIMITED', -1) end
if tonumber(ARGV[8]) > 0 and over('ip:' .. ARGV[19], tonumber(ARGV[8])) then return refuse('RATE_LIMITED', -1) end
if not s[1] then return decline('NOT_READY', -1, false, false) end
local remaining = tonumber(s[1])
local room = s[7] == '1'
if room then
  if ARGV[17] == '' then return refuse('ADMISSION_REQUIRED', remaining) end
  if tonumber(ARGV[18]) < tonumber(s[8] or '0') then return refuse('ADMISSION_INVALID', remaining) end
  if redis.call('SISMEMBER', KEYS[10], ARGV[17]) == 1 then return refuse('ADMISSION_USED', remaining) end
end
if s[5] == '1' or now < tonumber(s[2]) or now >= tonumber(s[3]) then return refuse('SALE_NOT_ACTIVE', remaining) end
held = redis.call('HINCRBY', KEYS[2], ARGV[1], qty)
if held > tonumber(s[4]) then return refuse('LIMIT_EXCEEDED', remaining) end
if remaining < qty then
  if buckets > 1 then return decline('DRY', remaining, false, false) end
  return decline('SOLD_OUT', remaining, true, remaining == 0)
end
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[5]) then return refuse('BUSY', remaining) end
if redis.call('HSETNX', KEYS[3], ARGV[3], ARGV[6]) == 0 then
  undo(true)
  return {'OK', current, ARGV[3]}
end
remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -qty)
redis.call('ZADD', KEYS[4], now, ARGV[3])
if s[10] ~= '${GATE_TALLY}' then redis.call('HINCRBY', KEYS[5], 'admitted', 1) end
if useIdem then redis.call('SET', KEYS[8], ARGV[3], 'EX', tonumber(ARGV[10])) end
if room then redis.call('SADD', KEYS[10], ARGV[17]) end
if remaining == 0 and buckets == 1 then redis.call('PUBLISH', ARGV[11], 'soldout:' .. ARGV[12]) end
return {'OK', tostring(remaining), ARGV[3]}
`;

/**
 * Takes units out of a bucket for another one that ran dry (a sale split into
 * buckets): at least `want` and up to half of what it has, never more than it
 * has. Recorded under the transfer id (a re-sent call takes nothing twice);
 * the receiving bucket applies them with give() (ADMIT_LUA or GIVE_LUA), and
 * the sweeper completes a transfer whose API copy died in between.
 * KEYS: state, transfersOut. ARGV: transferId, want, toBucket, nowMs.
 * Returns {units taken, remaining after, epoch}; remaining -1: no gate.
 */
export const TAKE_LUA = `
local s = redis.call('HMGET', KEYS[1], 'remaining', 'epoch')
if not s[1] then return {0, -1, ''} end
local epoch = s[2] or '0'
local remaining = tonumber(s[1])
local prior = redis.call('HGET', KEYS[2], ARGV[1])
if prior then return {tonumber(string.match(prior, '^%d+ (%d+)')), remaining, epoch} end
local n = math.max(tonumber(ARGV[2]), math.ceil(remaining / 2))
if n > remaining then n = remaining end
if n <= 0 then return {0, remaining, epoch} end
redis.call('HINCRBY', KEYS[1], 'stock', -n)
remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -n)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3] .. ' ' .. n .. ' ' .. epoch .. ' ' .. ARGV[4])
return {n, remaining, epoch}
`;

/**
 * Applies a transfer to the receiving bucket (see TAKE_LUA); once per transfer id.
 * KEYS: state, transfersIn. ARGV: transferId, units, epoch, nowMs. Returns 1 when applied now.
 */
export const GIVE_LUA = `${GIVE_FN}
return give(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]))
`;

/**
 * Drops the tickets of persisted orders: only those still pending count into
 * `persisted` (a redelivered batch clears nothing twice), then the counter
 * goes up by their units, and the stats' `settled` by their number (see
 * GATE_TALLY). A handful of commands per call, whatever the number of tickets
 * (HMGET, HDEL and ZREM take them all at once).
 * KEYS: pending, pendingAt, persisted, stats. ARGV: orderId, quantity, orderId, quantity, ...
 * Returns the units cleared now.
 */
export const CLEAR_LUA = `
local ids = {}
local units = {}
for i = 1, #ARGV, 2 do
  if not units[ARGV[i]] then
    ids[#ids + 1] = ARGV[i]
    units[ARGV[i]] = tonumber(ARGV[i + 1])
  end
end
local found = redis.call('HMGET', KEYS[1], unpack(ids))
local cleared = {}
local total = 0
for i, id in ipairs(ids) do
  if found[i] then
    cleared[#cleared + 1] = id
    total = total + units[id]
  end
end
if #cleared > 0 then
  redis.call('HDEL', KEYS[1], unpack(cleared))
  redis.call('HINCRBY', KEYS[4], 'settled', #cleared)
end
redis.call('ZREM', KEYS[2], unpack(ids))
if total > 0 then redis.call('INCRBY', KEYS[3], total) end
return total
`;

/**
 * Gives an order's units back to the gate (inventory refused it, or it was
 * cancelled): remaining and the buyer's count, once per order whatever the
 * retries (the released set), and announces the restock. A ticket still
 * pending goes with them (counted `settled`, see GATE_TALLY).
 * KEYS: state, buyers, released, pending, pendingAt, stats.
 * ARGV: orderId, userId, quantity, channel, saleId.
 * Returns 1 when given back now, 0 when already given back or no gate.
 */
export const RELEASE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then return 0 end
local qty = tonumber(ARGV[3])
redis.call('HINCRBY', KEYS[1], 'remaining', qty)
if redis.call('HINCRBY', KEYS[2], ARGV[2], -qty) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
if redis.call('HDEL', KEYS[4], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[6], 'settled', 1) end
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('PUBLISH', ARGV[4], 'restock:' .. ARGV[5])
return 1
`;

/**
 * Builds, checks or repairs a sale's gate from the orders of record, in one
 * atomic call (the sale keeps selling around it).
 *
 * The caller read Postgres after noting the `persisted` counter (ARGV[2]):
 * `live` are the orders not CANCELLED/FAILED ("orderId userId qty;" ...),
 * `dead` the CANCELLED/FAILED ones. Held units = live orders + pending tickets
 * whose order is in neither list (admitted, not persisted yet; admissions
 * after the read are tickets too). If `persisted` moved since the read, an
 * order committed after it may have had its ticket cleared already and would
 * be counted nowhere: without `safe` the call changes nothing and answers
 * MOVED (the caller reads again); with `safe` the moved units count as held
 * and buyers' counts are only raised, so stock that was sold never reappears
 * (at worst a few units stay held until the next reconcile).
 *
 * Modes: `create` builds only a missing gate (a gate that exists just gets
 * its settings, like SYNC); `check` computes and answers, writing nothing;
 * `repair` rewrites remaining, buyers and the released set.
 * With several buckets, each bucket is one such call with `stock` = the units
 * it owns (its share): the caller adds up the buckets' held units first.
 * Writing also sets the layout (bucket count, index, epoch) and forgets the
 * bucket's transfers out (a transfer of an older epoch is void where it lands).
 * KEYS: state, buyers, pending, released, persisted, transfersOut.
 * ARGV: mode, mark, stock, startsAt, endsAt, limit, paused, price, live, dead,
 *       safe (0|1), channel, saleId, buckets, bucket, epoch, room (0|1: the sale
 *       has a waiting room, see ADMIT_LUA).
 * A gate written where none existed notes when (`builtAt`, Redis time, ms):
 * admissions of the waiting room issued before it are void; and it counts
 * its admissions from its tickets (`tally`, see GATE_TALLY).
 * Returns {status, current remaining (-1: no gate), expected remaining,
 * moved units, buyer drift "userId:gate:expected,...", held units}; status EXISTS, MOVED or DONE.
 */
export const REBUILD_LUA = `
local mode = ARGV[1]
local exists = redis.call('EXISTS', KEYS[1]) == 1
local function settings()
  if not exists then
    local t = redis.call('TIME')
    redis.call('HSET', KEYS[1], 'builtAt', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), 'tally',
      '${GATE_TALLY}')
  end
  redis.call('HSET', KEYS[1], 'stock', ARGV[3], 'startsAt', ARGV[4], 'endsAt', ARGV[5],
    'limit', ARGV[6], 'paused', ARGV[7], 'price', ARGV[8], 'buckets', ARGV[14], 'bucket', ARGV[15], 'epoch', ARGV[16],
    'room', ARGV[17])
  redis.call('DEL', KEYS[6])
end
if mode == 'create' and exists then
  -- stock stays: it moves only with the units (ADJUST_STOCK) or a full rebuild
  redis.call('HSET', KEYS[1], 'startsAt', ARGV[4], 'endsAt', ARGV[5],
    'limit', ARGV[6], 'paused', ARGV[7], 'price', ARGV[8], 'room', ARGV[17])
  return {'EXISTS', tonumber(redis.call('HGET', KEYS[1], 'remaining')), -1, 0, '', 0}
end
local counter = tonumber(redis.call('GET', KEYS[5]) or '0')
local moved = counter - tonumber(ARGV[2])
if moved < 0 then moved = counter end
if moved ~= 0 and ARGV[11] ~= '1' then return {'MOVED', -1, -1, moved, '', 0} end
local held = moved
local expected = {}
local live = {}
for id, user, qty in string.gmatch(ARGV[9], '(%w+) ([%w-]+) (%d+)') do
  live[id] = true
  held = held + tonumber(qty)
  expected[user] = (expected[user] or 0) + tonumber(qty)
end
local dead = {}
for id in string.gmatch(ARGV[10], '%w+') do dead[id] = true end
local tickets = redis.call('HGETALL', KEYS[3])
for i = 1, #tickets, 2 do
  local id = tickets[i]
  if not live[id] and not dead[id] then
    local t = cjson.decode(tickets[i + 1])
    held = held + t.quantity
    expected[t.userId] = (expected[t.userId] or 0) + t.quantity
  end
end
local target = tonumber(ARGV[3]) - held
if target < 0 then target = 0 end
local current = -1
if exists then current = tonumber(redis.call('HGET', KEYS[1], 'remaining') or '-1') end
local drift = {}
local seen = {}
local gateBuyers = redis.call('HGETALL', KEYS[2])
for i = 1, #gateBuyers, 2 do
  local user = gateBuyers[i]
  local n = tonumber(gateBuyers[i + 1])
  seen[user] = true
  if n ~= (expected[user] or 0) then table.insert(drift, user .. ':' .. n .. ':' .. (expected[user] or 0)) end
end
for user, e in pairs(expected) do
  if not seen[user] and e ~= 0 then table.insert(drift, user .. ':0:' .. e) end
end
if mode == 'check' then return {'DONE', current, target, moved, table.concat(drift, ','), held} end
settings()
redis.call('HSET', KEYS[1], 'remaining', target)
if moved > 0 then
  for user, e in pairs(expected) do
    if e > tonumber(redis.call('HGET', KEYS[2], user) or '0') then redis.call('HSET', KEYS[2], user, e) end
  end
else
  redis.call('DEL', KEYS[2])
  for user, e in pairs(expected) do
    if e > 0 then redis.call('HSET', KEYS[2], user, e) end
  end
end
for id in pairs(dead) do redis.call('SADD', KEYS[4], id) end
if target > 0 then redis.call('PUBLISH', ARGV[12], 'restock:' .. ARGV[13]) end
return {'DONE', current, target, moved, table.concat(drift, ','), held}
`;
