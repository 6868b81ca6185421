/**
 * Lua scripts of the waiting room. Every script takes the room's keys in the
 * order of roomKeyList (cfg, queue, seen, active, issued, buying, shadow,
 * stats, lease) and reads the clock from Redis (TIME), so every API copy and
 * the admitter agree on it.
 *
 * Fairness: a shopper who joins before the start gets a uniform random draw
 * in [0, 1) as score (drawn by the caller from a CSPRNG), one who joins after
 * the start 1 + the room's join sequence. The queue (a sorted set) is thus, at
 * any moment, the pre-queue in a uniformly random order followed by the late
 * joiners in join order: the same as shuffling the pre-queue at the start,
 * without a step that must happen at the start. Position = rank: O(log n).
 */

/**
 * Redis time in ms, and the room's settings written when the sale's version
 * is newer than the one stored (versions start with the row's updatedAt in
 * ms, which only moves forward): an admitter's or API copy's older copy of
 * the sale never undoes a newer one (a pause, a new rate).
 */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;
const SETTINGS = `${PRELUDE}
local stored = redis.call('HGET', KEYS[1], 'v')
if not stored or tonumber(string.match(ARGV[1], '^%d+') or '0') > tonumber(string.match(stored, '^%d+') or '0') then
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'rate', ARGV[2], 'maxActive', ARGV[3], 'claimMs', ARGV[4],
    'startsAt', ARGV[5], 'endsAt', ARGV[6], 'opensAt', ARGV[7], 'maxQueue', ARGV[8], 'paused', ARGV[9])
end
`;
/** Only the settings (KEYS[1]; ARGV 1-9): an admin's change written at once. */
export const SETTINGS_LUA = `${SETTINGS}
return 1
`;
/** Where a shopper stands: {state, a, b} or nil (not in the room). */
const PLACE = `
local function place(user)
  local exp = redis.call('ZSCORE', KEYS[4], user)
  if exp then return {'admitted', redis.call('HGET', KEYS[5], user) or '0', exp} end
  local paid = redis.call('ZSCORE', KEYS[6], user)
  if paid then return {'buying', '0', paid} end
  local score = redis.call('ZSCORE', KEYS[2], user)
  if score then return {'waiting', tostring(redis.call('ZRANK', KEYS[2], user)), score} end
  score = redis.call('ZSCORE', KEYS[7], user)
  if score then
    -- a shadowed identity is shown where it would stand, behind the real shoppers and shadows ahead of it
    local ahead = redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. score) + redis.call('ZRANK', KEYS[7], user)
    return {'waiting', tostring(ahead), score}
  end
  return nil
end
local function answer(p)
  local c = redis.call('HMGET', KEYS[1], 'mrate', 'soldOut', 'rateNow')
  return {p[1], p[2], p[3], tostring(redis.call('ZCARD', KEYS[2])), c[1] or '0', tostring(now), c[2] or '0', c[3] or ''}
end
`;

/**
 * Join (idempotent: a shopper in the room gets their place back).
 * ARGV: settings (1-9, see SETTINGS), userId, draw, seenMs (counted gone
 * without a poll for this long), shadow (0|1).
 * Returns {state, a, b, queue length, measured rate, now, soldOut, the
 * admitter's current rate ('' before its first turn)}: state
 * waiting (a = rank from 0, b = score), admitted (a = issued ms, b = expiry
 * ms), buying (b = end of the payment window), or a refusal with a = '':
 * CLOSED (ended or sold out), NOT_OPEN (before the pre-queue opens), FULL.
 */
export const JOIN_LUA = `${SETTINGS}${PLACE}
local user = ARGV[10]
local p = place(user)
if p then
  if p[1] == 'waiting' then redis.call('ZADD', KEYS[3], now + tonumber(ARGV[12]), user) end
  return answer(p)
end
local c = redis.call('HMGET', KEYS[1], 'startsAt', 'endsAt', 'opensAt', 'maxQueue', 'soldOut')
if now >= tonumber(c[2]) or c[5] == '1' then return answer({'CLOSED', '', ''}) end
if now < tonumber(c[3]) then return answer({'NOT_OPEN', '', ''}) end
if redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[7]) >= tonumber(c[4]) then return answer({'FULL', '', ''}) end
local score
if now < tonumber(c[1]) then score = ARGV[11] else score = 1 + redis.call('HINCRBY', KEYS[1], 'seq', 1) end
if ARGV[13] == '1' then
  redis.call('ZADD', KEYS[7], score, user)
  redis.call('HINCRBY', KEYS[8], 'shadowed', 1)
else
  redis.call('ZADD', KEYS[2], score, user)
end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[12]), user)
redis.call('HINCRBY', KEYS[8], 'joined', 1)
return answer(place(user))
`;

/**
 * A shopper's place; a waiting shopper's poll also pushes back when they
 * count as gone. ARGV: settings (1-9), userId, seenMs.
 * Returns as JOIN_LUA, state NONE when the shopper is not in the room.
 */
export const POLL_LUA = `${SETTINGS}${PLACE}
local user = ARGV[10]
local p = place(user)
if not p then return answer({'NONE', '', ''}) end
if p[1] == 'waiting' then redis.call('ZADD', KEYS[3], 'XX', now + tonumber(ARGV[11]), user) end
return answer(p)
`;

/**
 * Leaving: out of the queue, and an unused admission given up (its slot goes
 * to the next shopper). ARGV: userId. Returns 1 when the shopper was in the room.
 */
export const LEAVE_LUA = `
local user = ARGV[1]
local n = redis.call('ZREM', KEYS[2], user) + redis.call('ZREM', KEYS[7], user) + redis.call('ZREM', KEYS[4], user)
redis.call('ZREM', KEYS[3], user)
redis.call('HDEL', KEYS[5], user)
if n > 0 then redis.call('HINCRBY', KEYS[8], 'left', 1) end
return n > 0 and 1 or 0
`;

/**
 * The admission was used (a purchase was admitted with it): the shopper
 * leaves the admitted set for the buying one until their order is paid or
 * cancelled (or the payment window ends), and still counts as active.
 * ARGV: userId, ms until the payment window ends. Returns 1.
 */
export const USE_LUA = `${PRELUDE}
local user = ARGV[1]
if redis.call('ZREM', KEYS[4], user) == 1 then redis.call('HINCRBY', KEYS[8], 'used', 1) end
redis.call('HDEL', KEYS[5], user)
redis.call('ZADD', KEYS[6], now + tonumber(ARGV[2]), user)
return 1
`;

/**
 * A shopper's turn is over (order paid or cancelled, purchase refused): their
 * slot frees at once. ARGV: userId. Returns 1 when they held one.
 */
export const END_LUA = `
local user = ARGV[1]
local n = redis.call('ZREM', KEYS[6], user) + redis.call('ZREM', KEYS[4], user)
redis.call('HDEL', KEYS[5], user)
if n > 0 then redis.call('HINCRBY', KEYS[8], 'ended', 1) end
return n > 0 and 1 or 0
`;

/**
 * One turn of the admitter (the holder of the room's lease).
 * KEYS: the room's keys, then the gate's state key of a sale of one bucket
 * (same hash tag), read in the turn so the units left are never stale.
 * ARGV: settings (1-9), owner, leaseMs, remaining (units the gate has left;
 * -2: no gate yet; -3: read it from the gate's state key), most admitted per
 * turn, this turn's rate (per second: the configured one, or what the auto
 * law chose), the waiters' grace (ms: seconds in which the doors shed polls
 * are not silence; a waiter is gone when its seen-by time is older than now
 * less the grace).
 * 1. Lease: another live holder → {'LEASED'}.
 * 2. Lapsed admissions (not used in time) and ended payment windows free
 *    their slots; waiters who stopped polling (beyond the grace) are gone.
 * 3. Hold (paused, before the start, after the end, no gate): nothing admitted.
 * 4. Sold out (remaining 0) is noted (joins are refused, waiters told); units
 *    that come back are admitted again in queue order.
 * 5. Admit n = the rate's budget since the last turn (a fraction carried
 *    over), bounded by the free slots (maxActive − admitted − buying), the
 *    units not yet promised (remaining − unused admissions) and the queue.
 * 6. The measured rate: admissions per second over windows of ≥ 1 s in which
 *    the rate alone set the pace (the queue never ran empty, and no free-slot
 *    or units bound held admission back: those pauses say nothing about the
 *    room's rate), smoothed (0.7 old + 0.3 new).
 * Returns {'OK'|'HOLD', admitted, lapsed, gone, waiting, active, buying, measured rate, remaining}.
 */
export const TICK_LUA = `${SETTINGS}
local holder = redis.call('GET', KEYS[9])
if holder and holder ~= ARGV[10] then return {'LEASED'} end
redis.call('SET', KEYS[9], ARGV[10], 'PX', tonumber(ARGV[11]))
local function expired(key, upto)
  local ids = redis.call('ZRANGEBYSCORE', key, '-inf', upto or now, 'LIMIT', 0, 1000)
  if #ids > 0 then redis.call('ZREM', key, unpack(ids)) end
  return ids
end
local lapsed = expired(KEYS[4])
if #lapsed > 0 then
  redis.call('HDEL', KEYS[5], unpack(lapsed))
  redis.call('HINCRBY', KEYS[8], 'lapsed', #lapsed)
end
expired(KEYS[6])
local gone = expired(KEYS[3], now - tonumber(ARGV[15] or '0'))
if #gone > 0 then
  redis.call('ZREM', KEYS[2], unpack(gone))
  redis.call('ZREM', KEYS[7], unpack(gone))
  redis.call('HINCRBY', KEYS[8], 'gone', #gone)
end
local c = redis.call('HMGET', KEYS[1], 'rate', 'maxActive', 'claimMs', 'startsAt', 'endsAt', 'paused',
  'last', 'carry', 'mrate', 'mwin', 'mcount', 'drained')
local remaining = tonumber(ARGV[12])
if remaining == -3 then
  local r = redis.call('HGET', KEYS[10], 'remaining')
  remaining = r and tonumber(r) or -2
end
local waiting = redis.call('ZCARD', KEYS[2])
local active = redis.call('ZCARD', KEYS[4])
local buying = redis.call('ZCARD', KEYS[6])
local mrate = c[9] or '0'
if c[6] == '1' or now < tonumber(c[4]) or now >= tonumber(c[5]) or remaining == -2 then
  redis.call('HSET', KEYS[1], 'last', now, 'carry', 0, 'mwin', now, 'mcount', 0, 'drained', 0)
  return {'HOLD', 0, #lapsed, #gone, waiting, active, buying, mrate, remaining}
end
redis.call('HSET', KEYS[1], 'soldOut', remaining <= 0 and 1 or 0)
local dt = now - tonumber(c[7] or now)
if dt > 1000 then dt = 1000 end
if dt < 0 then dt = 0 end
local rate = tonumber(ARGV[14])
local budget = tonumber(c[8] or '0') + rate * dt / 1000
local n = math.floor(budget)
local carry = budget - n
local cap = math.min(tonumber(c[2]) - active - buying, remaining - active, waiting, tonumber(ARGV[13]))
if cap < 0 then cap = 0 end
local limited = false
if n > cap then
  n = cap
  carry = 0
  limited = cap < waiting
end
if n > 0 then
  local claimMs = tonumber(c[3])
  local popped = redis.call('ZPOPMIN', KEYS[2], n)
  local ids = {}
  for i = 1, #popped, 2 do
    local user = popped[i]
    ids[#ids + 1] = user
    redis.call('ZADD', KEYS[4], now + claimMs, user)
    redis.call('HSET', KEYS[5], user, now)
  end
  redis.call('ZREM', KEYS[3], unpack(ids))
  redis.call('HINCRBY', KEYS[8], 'admitted', n)
  waiting = waiting - n
  active = active + n
end
local mwin = tonumber(c[10] or now)
local mcount = tonumber(c[11] or '0') + n
local drained = c[12] == '1' or waiting == 0 or limited
if now - mwin >= 1000 then
  if not drained then
    local sample = mcount * 1000 / (now - mwin)
    local old = tonumber(mrate)
    if old > 0 then sample = 0.7 * old + 0.3 * sample end
    mrate = tostring(sample)
  end
  mwin = now
  mcount = 0
  drained = false
end
redis.call('HSET', KEYS[1], 'last', now, 'carry', carry, 'mrate', mrate, 'mwin', mwin, 'mcount', mcount,
  'drained', drained and 1 or 0, 'rateNow', rate)
return {'OK', n, #lapsed, #gone, waiting, active, buying, mrate, remaining}
`;
