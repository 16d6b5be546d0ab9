-- Add one happening's counts to the buckets of an app's statistics (minute, hour, day).
-- KEYS    the buckets
-- ARGV[1..#KEYS] each bucket's ttl s   ARGV[#KEYS+1..] field, amount pairs
local first = #KEYS + 1
for j = 1, #KEYS do
  for i = first, #ARGV, 2 do
    redis.call('HINCRBY', KEYS[j], ARGV[i], ARGV[i + 1])
  end
  redis.call('EXPIRE', KEYS[j], ARGV[j])
end
return 1
