-- Add one happening's counts to a minute and an hour bucket of an app's statistics.
-- KEYS[1] minute bucket   KEYS[2] hour bucket
-- ARGV[1] minute bucket ttl s   ARGV[2] hour bucket ttl s   ARGV[3..] field, amount pairs
for i = 3, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
