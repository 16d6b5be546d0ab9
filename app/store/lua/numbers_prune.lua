-- Drop run-time safe or test numbers whose end date has passed, unless they were
-- replaced since they were read (a number added again keeps its entry's id).
-- KEYS[1] the listed numbers (a hash: entry id -> entry JSON)
-- ARGV pairs: an entry id, the value read from it
-- Returns the number of entries dropped.
local dropped = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    dropped = dropped + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return dropped
