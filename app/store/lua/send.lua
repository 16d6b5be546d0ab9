-- Create a verification, or resend a code for the pending one: the cooldown, the send
-- budget, the per-number throttle, the code and the index change together or not at all.
-- KEYS[1] index of (app, number, purpose)   KEYS[2] record of the target verification
-- KEYS[3] the number's send throttle (a moving window)
-- ARGV[1] id the caller expects to resend ("" to create)   ARGV[2] target id
-- ARGV[3] code hash   ARGV[4] code ttl ms   ARGV[5] retention ms   ARGV[6] cooldown ms
-- ARGV[7] max sends   ARGV[8] max attempts   ARGV[9] resend policy ("replace" | "keep"),
--         or "step:<n>" for a fallback step after send n: no cooldown, a conflict unless
--         n is still the newest send, and every earlier code keeps working
-- ARGV[10] message id   ARGV[11] argon2 parameters of the hash ("t,m,p")
-- ARGV[12] this send's channel (the record's `h` becomes it; a message's own `h<n>` is
--          kept only when it is not sms, so an SMS costs no byte more)
-- ARGV[13] the verification's own app name ("" to keep what it has: the app's at first)
-- ARGV[14] its own Android app hash (the same)
-- ARGV[15..] the throttle's rates (count, then limit/window pairs), then the field/value
--            pairs of a new record
-- Returns {outcome, id, now, expires, last_send, sends, attempts, max_attempts, max_sends,
--          cooldown, retry_ms, rate, limit, window, then, once created or resent, its own
--          app name and app hash ("" if none), then (remaining, resets at) per rate of the
--          throttle after this send}
-- outcome: created | resent | conflict | cooldown | max_sends | limited
local index, record, throttle = KEYS[1], KEYS[2], KEYS[3]
local expected, id = ARGV[1], ARGV[2]
local ttl, retention = tonumber(ARGV[4]), tonumber(ARGV[5])
local channel = ARGV[12]
local rates, fields_at = read_rates(ARGV, 15)
local now = now_ms()
local step = tonumber(string.match(ARGV[9], '^step:(%d+)$'))

local current = read_index(index)
local pending = current and current.pending > now
local sends, attempts, max_attempts, max_sends, cooldown
if expected == '' then
  if pending then return {'conflict', current.id} end
  sends, attempts = 0, 0
  max_attempts, max_sends, cooldown = tonumber(ARGV[8]), tonumber(ARGV[7]), tonumber(ARGV[6])
else
  if not pending or current.id ~= expected then
    return {'conflict', pending and current.id or ''}
  end
  local f = redis.call('HMGET', record, 'L', 'N', 'x', 'X', 'S', 'D', 's', 'E')
  if f[7] ~= 'pending' or tonumber(f[8]) <= now then
    return {'conflict', ''}  -- a stale index; the caller starts a new verification
  end
  local last_send = tonumber(f[1])
  sends, attempts = tonumber(f[2]), tonumber(f[3])
  max_attempts, max_sends, cooldown = tonumber(f[4]), tonumber(f[5]), tonumber(f[6])
  if step and step ~= sends then return {'conflict', ''} end  -- a send came in between
  local wait = last_send + cooldown - now
  if step then wait = 0 end
  local refused = nil
  if wait > 0 then refused = 'cooldown' elseif sends >= max_sends then refused = 'max_sends' end
  if refused then
    return {refused, id, now, tonumber(f[8]), last_send, sends, attempts, max_attempts,
      max_sends, cooldown, math.max(wait, 0), 0, 0, 0}
  end
end

local entries = window_read(throttle, rates)
local rate, reset = window_refusal(entries, now, rates)
if rate then
  return {'limited', id, now, 0, 0, sends, attempts, max_attempts, max_sends, cooldown,
    reset - now, rate, rates[2 * rate - 1], rates[2 * rate]}
end

if expected == '' then
  redis.call('DEL', record)
  redis.call('HSET', record, 'id', id, 's', 'pending', 'T', now, 'x', 0, 'X', max_attempts,
    'S', max_sends, 'D', cooldown, 'P', ARGV[9], 'A', ARGV[11],
    unpack(ARGV, fields_at))
elseif not step and redis.call('HGET', record, 'P') == 'replace' then
  clear_codes(record)
end
sends = sends + 1
local expires = now + ttl
redis.call('HSET', record, 'c' .. sends, ARGV[3], 'e' .. sends, expires, 'N', sends,
  'L', now, 'E', expires, 'i' .. sends, ARGV[10], 'o' .. sends, now, 'q' .. sends, 'queued',
  'h', channel)
if channel ~= 'sms' then redis.call('HSET', record, 'h' .. sends, channel) end
-- kept only when set, so that a record without them costs no byte more
if ARGV[13] ~= '' then redis.call('HSET', record, 'F', ARGV[13]) end
if ARGV[14] ~= '' then redis.call('HSET', record, 'H', ARGV[14]) end
local own = redis.call('HMGET', record, 'F', 'H')
redis.call('PEXPIRE', record, ttl + retention)
redis.call('SET', index, table.concat({id, now, sends, max_sends, cooldown, expires}, ' '),
  'PX', ttl + retention)
local outcome = 'resent'
if expected == '' then outcome = 'created' end
local answer = {outcome, id, now, expires, now, sends, attempts, max_attempts, max_sends,
  cooldown, 0, 0, 0, 0, own[1] or '', own[2] or ''}
if #rates > 0 then
  window_take(throttle, entries, now, rates)
  for _, value in ipairs(window_room(entries, now, rates)) do table.insert(answer, value) end
end
return answer
