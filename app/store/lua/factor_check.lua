-- A code for a TOTP factor: confirm it (its first code) or check it, refusing a code of a
-- time step at or before the last one accepted (RFC 6238 5.2: no code twice), counting
-- consecutive wrong codes per subject across all its factors.
-- KEYS[1] the factor's record   KEYS[2] the subject's consecutive failures
-- ARGV[1] 'confirm' | 'check'   ARGV[2] the time step the code matched (0: none)
-- ARGV[3] failures allowed   ARGV[4] the secret sealed again under the current key ('' : keep)
-- Returns {outcome, failures}: outcome 'missing' | 'locked' | 'not_verified' |
--   'verified_already' | 'wrong' | 'replayed' | 'ok'
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', 0} end
local failures = tonumber(redis.call('GET', KEYS[2]) or '0')
if failures >= tonumber(ARGV[3]) then return {'locked', failures} end
local status = redis.call('HGET', KEYS[1], 'st')
if ARGV[1] == 'check' and status ~= 'v' then return {'not_verified', failures} end
if ARGV[1] == 'confirm' and status == 'v' then return {'verified_already', failures} end
local step = tonumber(ARGV[2])
local outcome = 'ok'
if step == 0 then
  outcome = 'wrong'
elseif step <= tonumber(redis.call('HGET', KEYS[1], 'l') or '0') then
  outcome = 'replayed'
end
if outcome ~= 'ok' then
  return {outcome, redis.call('INCR', KEYS[2])}
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'l', step, 'u', now_ms())
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'k', ARGV[4]) end
if ARGV[1] == 'confirm' then
  redis.call('HSET', KEYS[1], 'st', 'v', 'v', now_ms())
  redis.call('PERSIST', KEYS[1])
end
return {'ok', 0}
