-- Count the distinct numbers sent to under one prefix within a window. (`limits` counts
-- events, not distinct members, so this one is ours.)
-- KEYS[1] sorted set of number digests under the prefix, scored by last send (ms)
-- ARGV[1] number digest    ARGV[2] window ms
-- Returns the number of distinct numbers within the window, this one included.
local now = now_ms()
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('PEXPIRE', KEYS[1], window)
return redis.call('ZCARD', KEYS[1])
