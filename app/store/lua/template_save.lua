-- Write (or delete) one template if nobody changed it since it was read, bump the apps'
-- version (every instance reads apps and templates again) and audit the change.
-- KEYS[1] the templates (a hash)   KEYS[2] the apps' version   KEYS[3] the app's template audit
-- ARGV[1] the template's field     ARGV[2] the revision read (0: there was none)
-- ARGV[3] the new record (JSON with a "revision"; "" deletes)
-- ARGV[4] the audit entry (JSON)   ARGV[5] audit entries kept
-- Returns 1 when written, 0 when the template changed meanwhile (then nothing is).
-- A stored record that is no JSON with a revision counts as none (as otpgate reads it).
local current = redis.call('HGET', KEYS[1], ARGV[1])
local revision = 0
if current then
  local ok, record = pcall(cjson.decode, current)
  if ok and type(record) == 'table' then revision = tonumber(record['revision']) or 0 end
end
if revision ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
redis.call('INCR', KEYS[2])
redis.call('LPUSH', KEYS[3], ARGV[4])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
return 1
