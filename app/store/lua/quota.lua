-- An app's quota: its sends and estimated spend (in millionths) in the current UTC day
-- and month, checked and counted in one step so that concurrent sends cannot pass a cap.
-- KEYS[1] the day's hash   KEYS[2] the month's hash (both in the app's slot)
--   fields: s sends, c spend; x1..x4 mark a cap passed (a soft quota tells it once)
-- ARGV[1] 'take' (a send: count it, or refuse it when hard and over a cap)
--       | 'give' (return what a refused or failed send took)
--       | 'cost' (the spend of a send that went out differs from what it reserved)
-- ARGV[2] sends   ARGV[3] spend (cost: the difference, may be below 0)   ARGV[4] '1': hard
-- ARGV[5] day ttl s   ARGV[6] month ttl s
-- ARGV[7..10] caps: sends a day, sends a month, spend a day, spend a month (0: none)
-- Returns {'refused', cap, used} (take, hard) | {'ok', caps passed by this change...}
local op, sends, spend = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if op == 'give' then sends, spend = -sends, -spend end
local keys, fields = {KEYS[1], KEYS[2], KEYS[1], KEYS[2]}, {'s', 's', 'c', 'c'}
local adds = {sends, sends, spend, spend}
local used = {}
for i = 1, 4 do
  used[i] = tonumber(redis.call('HGET', keys[i], fields[i]) or '0')
end
if op == 'take' and ARGV[4] == '1' then
  for i = 1, 4 do
    local cap = tonumber(ARGV[6 + i])
    if cap > 0 and used[i] + adds[i] > cap then return {'refused', i, used[i]} end
  end
end
for j = 1, 2 do
  if sends ~= 0 then redis.call('HINCRBY', KEYS[j], 's', sends) end
  if spend ~= 0 then redis.call('HINCRBY', KEYS[j], 'c', spend) end
  redis.call('EXPIRE', KEYS[j], ARGV[4 + j])
end
local passed = {'ok'}
for i = 1, 4 do
  local cap = tonumber(ARGV[6 + i])
  if cap > 0 and used[i] + adds[i] > cap then
    if adds[i] > 0 and redis.call('HSETNX', keys[i], 'x' .. i, 1) == 1 then
      passed[#passed + 1] = i
    end
  elseif cap > 0 and adds[i] < 0 then  -- back under the cap: the next to pass it tells
    redis.call('HDEL', keys[i], 'x' .. i)
  end
end
return passed
