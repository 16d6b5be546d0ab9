-- Store what the route made of one message; fail the verification when its only send
-- could not be delivered. Never recreates a record that has already expired.
-- KEYS[1] verification record    KEYS[2] its index
-- ARGV[1] message number   ARGV[2] "failed" to fail the verification, "" otherwise
-- ARGV[3] retention ms     ARGV[4] the provider that took it ("-" if none)
-- ARGV[5] message status   ARGV[6] provider's message id   ARGV[7] attempts (JSON)
-- ARGV[8] error code       ARGV[9] error kind
-- Returns 1 when stored, 0 when the record is gone.
local record, index, n = KEYS[1], KEYS[2], ARGV[1]
if redis.call('EXISTS', record) == 0 then return 0 end
local fields = {'p' .. n, ARGV[4], 'q' .. n, ARGV[5], 'w' .. n, ARGV[7]}
for field, value in pairs({y = ARGV[6], z = ARGV[8], g = ARGV[9]}) do
  if value ~= '' then
    table.insert(fields, field .. n)
    table.insert(fields, value)
  end
end
redis.call('HSET', record, unpack(fields))
if ARGV[2] == 'failed' and redis.call('HGET', record, 's') == 'pending' then
  finish(record, index, 'failed', now_ms(), tonumber(ARGV[3]))
end
return 1
