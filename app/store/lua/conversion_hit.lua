-- Count a verification started ("S") or approved ("A") to one country, for the guard.
-- KEYS[1] the country's conversion counters   ARGV[1] "S" | "A"   ARGV[2] window ms
-- ARGV[3] how many (-1 takes back an approval counted ahead of its confirmation)
local window = tonumber(ARGV[2])
local states = counters_read(KEYS[1], {ARGV[1]}, {window}, now_ms())
counters_add(KEYS[1], states, tonumber(ARGV[3] or '1'))
redis.call('PEXPIRE', KEYS[1], 2 * window)
return 1
