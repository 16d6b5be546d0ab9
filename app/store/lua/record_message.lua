-- Store what the provider said about one message; fail the verification when its only
-- send could not be delivered. Never recreates a record that has already expired.
-- KEYS[1] verification record    KEYS[2] its pending index
-- ARGV[1] message field ("m:<n>") ARGV[2] message JSON
-- ARGV[3] "failed" to fail the verification, "" otherwise
-- ARGV[4] retention ms          ARGV[5] the provider that took it ("" if none)
-- Returns 1 when stored, 0 when the record is gone.
local record, index = KEYS[1], KEYS[2]
if redis.call('EXISTS', record) == 0 then return 0 end
redis.call('HSET', record, ARGV[1], ARGV[2], 'p:' .. string.sub(ARGV[1], 3), ARGV[5])
if ARGV[3] == 'failed' and redis.call('HGET', record, 'status') == 'pending' then
  finish(record, index, 'failed', now_ms(), tonumber(ARGV[4]))
end
return 1
