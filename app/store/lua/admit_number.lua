-- What a send to this number would meet, read before anything is hashed or counted:
-- the pending verification's send state, the number's send throttle and whether the
-- number opted out of the app. Changes nothing.
-- KEYS[1] index of (app, number, purpose)   KEYS[2] the number's send throttle
-- KEYS[3] the number's opt-out mark
-- ARGV[1..] the throttle's rates (count, then limit/window pairs)
-- Returns {now, index value or "", rate, limit, window, free at ms, opted out (0 or 1),
--          remaining, resets at, ... per rate} (rate 0: room left)
local rates = read_rates(ARGV, 1)
local now = now_ms()
local index = redis.call('GET', KEYS[1]) or ''
local opted = redis.call('EXISTS', KEYS[3])
local entries = window_read(KEYS[2], rates)
local rate, reset = window_refusal(entries, now, rates)
local answer = {now, index, 0, 0, 0, 0, opted}
if rate then answer = {now, index, rate, rates[2 * rate - 1], rates[2 * rate], reset, opted} end
for _, value in ipairs(window_room(entries, now, rates)) do table.insert(answer, value) end
return answer
