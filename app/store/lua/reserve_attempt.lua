-- Count one check attempt before the code is compared, so concurrent guesses can never
-- take more than the budget; hand back the hashes of the codes that still work. The
-- number's wrong-code budget is read first: when it is spent, nothing is counted.
-- KEYS[1] verification record   KEYS[2] the number's wrong-code throttle
-- ARGV[1] app that asks (a verification of another app is "not found")
-- ARGV[2..] the wrong-code throttle's rates (count, then limit/window pairs)
-- Returns {'not_found'} | {'status', s} | {'expired'} | {'exhausted', max}
--       | {'limited', rate, limit, window, free at ms}
--       | {'ok', attempts_used, max_attempts, lookup, argon2 params, country,
--          n1, hash1, provider1, channel1, n2, ...} (of that send's message: its provider,
--          "-" if none, and its channel)
local record = KEYS[1]
local f, now, refusal = pending_fields(record, ARGV[1], 'x', 'X', 'N', 'k', 'A', 'C')
if refusal then return refusal end
local rates = read_rates(ARGV, 2)
local rate, reset = window_refusal(window_read(KEYS[2], rates), now, rates)
if rate then return {'limited', rate, rates[2 * rate - 1], rates[2 * rate], reset} end
local max_attempts = tonumber(f[5])
if tonumber(f[4]) >= max_attempts then return {'exhausted', max_attempts} end
local used = redis.call('HINCRBY', record, 'x', 1)
local result = {'ok', used, max_attempts, f[7], f[8], f[9]}
for n = 1, tonumber(f[6]) do
  local code = redis.call('HMGET', record, 'c' .. n, 'e' .. n, 'p' .. n, 'h' .. n)
  if code[1] and tonumber(code[2]) > now then
    table.insert(result, n)
    table.insert(result, code[1])
    table.insert(result, code[3] or '-')
    table.insert(result, code[4] or 'sms')
  end
end
return result
