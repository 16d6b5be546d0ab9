-- Count one check attempt before the code is compared, so concurrent guesses can never
-- take more than the budget; hand back the hashes of the codes that still work.
-- KEYS[1] verification record
-- ARGV[1] app that asks (a verification of another app is "not found")
-- Returns {'not_found'} | {'status', s} | {'expired'} | {'exhausted', max}
--       | {'ok', attempts_used, max_attempts, lookup, n1, hash1, n2, hash2, ...}
local record = KEYS[1]
local f = redis.call('HMGET', record, 'app', 'status', 'expires', 'attempts', 'max_attempts',
  'sends', 'lk')
if not f[1] or f[1] ~= ARGV[1] then return {'not_found'} end
if f[2] ~= 'pending' then return {'status', f[2]} end
local now = now_ms()
if tonumber(f[3]) <= now then
  expire_now(record, now)
  return {'expired'}
end
local max_attempts = tonumber(f[5])
if tonumber(f[4]) >= max_attempts then return {'exhausted', max_attempts} end
local used = redis.call('HINCRBY', record, 'attempts', 1)
local result = {'ok', used, max_attempts, f[7]}
for n = 1, tonumber(f[6]) do
  local code = redis.call('HMGET', record, 'c:' .. n, 'ce:' .. n)
  if code[1] and tonumber(code[2]) > now then
    table.insert(result, n)
    table.insert(result, code[1])
  end
end
return result
