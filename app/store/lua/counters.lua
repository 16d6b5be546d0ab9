-- Check several throttles of one slot, and take one unit of each only if none is spent,
-- so a refusal consumes nothing here.
-- KEYS   the throttles
-- ARGV[1] "take", "check" or "view" (no refusal: where every rate stands); then for each
--        key its kind ("w" moving window, "b" sliding counter) and its rates (count,
--        then limit/window ms pairs)
-- Returns {0, now, remaining, resets at ms, ... for every rate of every key, after this
--          request} | {key position, rate, limit, window, free at ms}
local mode, now, at, specs = ARGV[1], now_ms(), 2, {}
for j = 1, #KEYS do
  local kind = ARGV[at]
  local rates, next_at = read_rates(ARGV, at + 1)
  at = next_at
  local state = throttle_read(kind, KEYS[j], now, rates)
  specs[j] = {kind, rates, state}
  if mode ~= 'view' then
    local rate, reset = throttle_refusal(kind, state, now, rates)
    if rate then return {j, rate, rates[2 * rate - 1], rates[2 * rate], reset} end
  end
end
local answer = {0, now}
for j = 1, #KEYS do
  local kind, rates, state = specs[j][1], specs[j][2], specs[j][3]
  if mode == 'take' then throttle_take(kind, KEYS[j], state, now, rates) end
  for _, value in ipairs(throttle_room(kind, state, now, rates)) do
    table.insert(answer, value)
  end
end
return answer
