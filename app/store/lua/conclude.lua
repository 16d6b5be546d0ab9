-- Settle a check. "approve": approve if the verification is still pending and the matched
-- code still stands. "miss": a wrong code; it counts against the number's wrong-code
-- throttle, and the verification locks once its last attempt is used. "release": give
-- back the attempt of a check refused elsewhere (its client network's throttle).
-- KEYS[1] verification record   KEYS[2] its index   KEYS[3] the number's wrong-code throttle
-- ARGV[1] "approve" | "miss"   ARGV[2] send number of the matched code (approve)
-- ARGV[3] retention ms   ARGV[4..] the wrong-code throttle's rates
-- Returns {'approved', provider of the matched code's message} | {'locked'} | {'pending'}
--       | {'status', s} | {'stale'} | {'released'}
local record, index = KEYS[1], KEYS[2]
local verdict, retention = ARGV[1], tonumber(ARGV[3])
local now = now_ms()
if verdict == 'miss' then
  local rates = read_rates(ARGV, 4)
  if #rates > 0 then window_take(KEYS[3], {}, now, rates) end
end
local f = redis.call('HMGET', record, 's', 'x', 'X')
if not f[1] then return {'status', 'gone'} end
if f[1] ~= 'pending' then return {'status', f[1]} end
if verdict == 'release' then
  if tonumber(f[2]) > 0 then redis.call('HINCRBY', record, 'x', -1) end
  return {'released'}
end
if verdict == 'approve' then
  local code = redis.call('HMGET', record, 'c' .. ARGV[2], 'e' .. ARGV[2])
  if not code[1] or tonumber(code[2]) <= now then return {'stale'} end
  finish(record, index, 'approved', now, retention)
  return {'approved', redis.call('HGET', record, 'p' .. ARGV[2]) or ''}
end
if tonumber(f[2]) < tonumber(f[3]) then return {'pending'} end
finish(record, index, 'max_attempts_reached', now, retention)
return {'locked'}
