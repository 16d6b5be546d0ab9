-- Settle a check: approve if the verification is still pending and the matched code still
-- works, or lock the verification once its last attempt was wrong.
-- KEYS[1] verification record    KEYS[2] its pending index
-- ARGV[1] "approve" | "lock"     ARGV[2] number of the matched code (approve)
-- ARGV[3] retention ms
-- Returns {'approved', now, provider of the matched code's message} | {'locked', now}
--       | {'pending'} | {'status', s} | {'stale'}
local record, index = KEYS[1], KEYS[2]
local verdict, retention = ARGV[1], tonumber(ARGV[3])
local f = redis.call('HMGET', record, 'status', 'attempts', 'max_attempts')
if not f[1] then return {'status', 'gone'} end
if f[1] ~= 'pending' then return {'status', f[1]} end
local now = now_ms()
if verdict == 'approve' then
  local code = redis.call('HMGET', record, 'c:' .. ARGV[2], 'ce:' .. ARGV[2])
  if not code[1] or tonumber(code[2]) <= now then return {'stale'} end
  finish(record, index, 'approved', now, retention)
  return {'approved', now, redis.call('HGET', record, 'p:' .. ARGV[2]) or ''}
end
if tonumber(f[2]) < tonumber(f[3]) then return {'pending'} end
finish(record, index, 'max_attempts_reached', now, retention)
return {'locked', now}
