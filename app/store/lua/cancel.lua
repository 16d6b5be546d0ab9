-- Cancel a pending verification; canceling a canceled one answers the same again.
-- KEYS[1] verification record    KEYS[2] its index
-- ARGV[1] app that asks          ARGV[2] retention ms
-- Returns {'canceled'} | {'canceled', 'again'} | {'not_found'} | {'expired'} | {'status', s}
local record, index = KEYS[1], KEYS[2]
local f = redis.call('HMGET', record, 'a', 's', 'E')
if not f[1] or f[1] ~= ARGV[1] then return {'not_found'} end
if f[2] == 'canceled' then return {'canceled', 'again'} end
if f[2] ~= 'pending' then return {'status', f[2]} end
local now = now_ms()
if tonumber(f[3]) <= now then
  expire_now(record)
  return {'expired'}
end
finish(record, index, 'canceled', now, tonumber(ARGV[2]))
return {'canceled'}
