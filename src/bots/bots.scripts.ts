/**
 * The anti-bot screen's scripts. Keys of one sale (see bots.keys.ts).
 *
 * CONTACT_LUA: an identity seen at the door (asking for a challenge, or
 * joining). KEYS: address, network, device, burst window, proof guard, judged.
 * ARGV: userId, key life (ms), has address (0|1), has device (0|1), proof
 * guard life (ms; 0: no proof to guard), burst window (ms).
 * Gives each account one ordinal per address, network and device (the n-th
 * seen there; a retry keeps it), and the burst count of the address when the
 * account first came there. With a proof, its guard is set first (SET NX):
 * a proof used before answers {-1} and changes nothing.
 * Returns {1, address ordinal, burst, network ordinal, device ordinal, the
 * identity's verdict so far or ''} (0 for a signal not known).
 */
export const CONTACT_LUA = `
local user = ARGV[1]
local life = ARGV[2]
if tonumber(ARGV[5]) > 0 then
  if not redis.call('SET', KEYS[5], user, 'NX', 'PX', ARGV[5]) then return {-1} end
end
local function ordinal(key)
  local o = redis.call('HGET', key, user)
  if o then return tonumber(o) end
  o = redis.call('HLEN', key) + 1
  redis.call('HSET', key, user, o)
  redis.call('PEXPIRE', key, life)
  return o
end
local a, b, n, d = 0, 0, 0, 0
if ARGV[3] == '1' then
  local seen = redis.call('HGET', KEYS[1], user)
  if seen then
    local o, w = string.match(seen, '(%d+):(%d+)')
    a, b = tonumber(o), tonumber(w)
  else
    a = redis.call('HLEN', KEYS[1]) + 1
    b = redis.call('INCR', KEYS[4])
    if b == 1 then redis.call('PEXPIRE', KEYS[4], ARGV[6]) end
    redis.call('HSET', KEYS[1], user, a .. ':' .. b)
    redis.call('PEXPIRE', KEYS[1], life)
  end
  n = ordinal(KEYS[2])
end
if ARGV[4] == '1' then d = ordinal(KEYS[3]) end
return {1, a, b, n, d, redis.call('HGET', KEYS[6], user) or ''}`;

/**
 * JUDGED_LUA: records an identity's verdict and counts it. KEYS: judged,
 * stats. ARGV: userId, "verdict:reason:tier", counter field ('' for none),
 * key life (ms).
 */
export const JUDGED_LUA = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if ARGV[3] ~= '' then
  redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return 1`;

/** HIT_LUA: one challenge asked from an address in a fixed window: the count so far and the ms left. */
export const HIT_LUA = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;
