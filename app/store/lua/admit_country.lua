-- A send to one country of one app: its block, the conversion guard, its send budget.
-- KEYS[1] the country's block   KEYS[2] its conversion counters   KEYS[3] its send budget
-- ARGV[1] "take" or "check"   ARGV[2] "1" when the guards apply (not a safe number)
-- ARGV[3] conversion window ms   ARGV[4] min verifications   ARGV[5] min approval rate
-- ARGV[6] hold ms   ARGV[7] id of a new block   ARGV[8] app   ARGV[9] country
-- ARGV[10..] the budget's rates
-- Returns {'blocked', block JSON} | {'new_block', block JSON}
--       | {'limited', rate, limit, window, free at ms} | {'ok', now}
local now = now_ms()
if ARGV[2] == '1' then
  local block = redis.call('GET', KEYS[1])
  if block then return {'blocked', block} end
  local window = tonumber(ARGV[3])
  local seen = counters_read(KEYS[2], {'S', 'A'}, {window, window}, now)
  local started, approved = counter_estimate(seen[1], now), counter_estimate(seen[2], now)
  if started >= tonumber(ARGV[4]) and approved < tonumber(ARGV[5]) * started then
    local hold = tonumber(ARGV[6])
    block = cjson.encode({id = ARGV[7], app = ARGV[8], kind = 'country', subject = ARGV[9],
      reason = string.format('%d of %d verifications approved within %s s', approved, started,
        tostring(window / 1000)),
      created_at = now / 1000, ['until'] = (now + hold) / 1000})
    redis.call('SET', KEYS[1], block, 'PX', hold)
    return {'new_block', block}
  end
end
local rates = read_rates(ARGV, 10)
local states = budget_read(KEYS[3], now, rates)
local rate, reset = budget_refusal(states, now, rates)
if rate then return {'limited', rate, rates[2 * rate - 1], rates[2 * rate], reset} end
if ARGV[1] == 'take' and #rates > 0 then budget_take(KEYS[3], states, rates) end
return {'ok', now}
