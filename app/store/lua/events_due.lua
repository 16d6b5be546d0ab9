-- Move events whose retry time has come from the retry set back onto the stream.
-- KEYS[1] retry sorted set (member: event JSON, score: due time ms)   KEYS[2] the stream
-- ARGV[1] how many at most    ARGV[2] stream max length (approximate)
-- Returns how many were moved.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'event', member)
  redis.call('ZREM', KEYS[1], member)
end
return #due
