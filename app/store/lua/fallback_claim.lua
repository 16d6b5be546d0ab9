-- Claim the fallback steps whose time has come. Each claimed verification's score moves
-- a lease ahead, so exactly one instance acts on it; one that dies holding it leaves it
-- due again when the lease ends (the send script's step check then stops a second send).
-- KEYS[1] the due set (member: verification id, score: due time ms)
-- ARGV[1] how many at most   ARGV[2] the lease, ms
-- Returns {now, id, id, ...}
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), id)
end
table.insert(due, 1, now)
return due
