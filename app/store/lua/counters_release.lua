-- Give back the units a request took at `taken_at` when another part of it was refused
-- (the slots of one request cannot change in one script on Redis Cluster).
-- KEYS   the throttles
-- ARGV[1] taken_at ms; then for each key its kind and rates, as counters.lua takes them
-- Returns how many units were given back.
local taken_at, at, given = tonumber(ARGV[1]), 2, 0
for j = 1, #KEYS do
  local kind = ARGV[at]
  local rates, next_at = read_rates(ARGV, at + 1)
  at = next_at
  if kind == 'w' then
    given = given + redis.call('LREM', KEYS[j], 1, taken_at)
  else
    for i = 1, #rates, 2 do
      local name, window = (i + 1) / 2, rates[i + 1]
      local start = tonumber(redis.call('HGET', KEYS[j], 's' .. name) or '-1')
      if start == taken_at - (taken_at % window) then
        redis.call('HINCRBY', KEYS[j], 'c' .. name, -1)
        given = given + 1
      end
    end
  end
end
return given
