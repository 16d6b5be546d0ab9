-- Create a verification, or resend a code for the pending one: cooldown, send budget,
-- code storage and the pending index change together or not at all.
-- KEYS[1] pending index of (app, number, purpose): "<id> <last_send> <sends> <max_sends> <cooldown>"
-- KEYS[2] record of the target verification (the pending one, or the new id)
-- KEYS[3] latest verification of (app, number, purpose), kept as long as its record
-- ARGV[1] id the caller expects to resend ("" to create a new verification)
-- ARGV[2] target id        ARGV[3] code hash       ARGV[4] code ttl ms
-- ARGV[5] retention ms     ARGV[6] cooldown ms     ARGV[7] max sends
-- ARGV[8] max attempts     ARGV[9] resend policy ("replace" | "keep")
-- ARGV[10] message JSON    ARGV[11..] field/value pairs of a new record
-- Returns {outcome, id, now, expires, last_send, sends, attempts, max_attempts, max_sends, cooldown, retry_ms}
-- outcome: created | resent | conflict | cooldown | max_sends
local index, record = KEYS[1], KEYS[2]
local expected, id = ARGV[1], ARGV[2]
local ttl, retention = tonumber(ARGV[4]), tonumber(ARGV[5])
local now = now_ms()

-- The index expires with the newest code and is released when a verification ends, so
-- an entry in it means a pending verification.
local current = redis.call('GET', index)
local current_id = current and string.match(current, '^(%S+)') or ''

local sends, attempts, max_attempts, max_sends, cooldown
if expected == '' then
  if current_id ~= '' then return {'conflict', current_id} end
  sends, attempts = 1, 0
  max_attempts, max_sends, cooldown = tonumber(ARGV[8]), tonumber(ARGV[7]), tonumber(ARGV[6])
  redis.call('DEL', record)
  redis.call('HSET', record, 'id', id, 'status', 'pending', 'created', now, 'attempts', 0,
    'max_attempts', max_attempts, 'max_sends', max_sends, 'cooldown', cooldown,
    'policy', ARGV[9], unpack(ARGV, 11))
else
  if current_id ~= expected then return {'conflict', current_id} end
  local f = redis.call('HMGET', record, 'last_send', 'sends', 'attempts', 'max_attempts',
    'max_sends', 'cooldown', 'policy', 'status', 'expires')
  if f[8] ~= 'pending' or tonumber(f[9]) <= now then
    redis.call('DEL', index)  -- stale entry; the caller starts a new verification
    return {'conflict', ''}
  end
  local last_send = tonumber(f[1])
  sends, attempts = tonumber(f[2]), tonumber(f[3])
  max_attempts, max_sends, cooldown = tonumber(f[4]), tonumber(f[5]), tonumber(f[6])
  local wait = last_send + cooldown - now
  local refused = nil
  if wait > 0 then refused = 'cooldown' elseif sends >= max_sends then refused = 'max_sends' end
  if refused then
    return {refused, id, now, tonumber(f[9]), last_send, sends, attempts, max_attempts,
      max_sends, cooldown, math.max(wait, 0)}
  end
  if f[7] == 'replace' then clear_codes(record) end
  sends = sends + 1
end

local message = cjson.decode(ARGV[10])
message['created_at'] = now
local expires = now + ttl
redis.call('HSET', record, 'c:' .. sends, ARGV[3], 'ce:' .. sends, expires,
  'sends', sends, 'last_send', now, 'expires', expires, 'updated', now,
  'm:' .. sends, cjson.encode(message))
redis.call('PEXPIRE', record, ttl + retention)
redis.call('SET', index, table.concat({id, now, sends, max_sends, cooldown}, ' '), 'PX', ttl)
redis.call('SET', KEYS[3], id, 'PX', ttl + retention)
local outcome = 'resent'
if expected == '' then outcome = 'created' end
return {outcome, id, now, expires, now, sends, attempts, max_attempts, max_sends, cooldown, 0}
