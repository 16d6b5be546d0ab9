-- Apply one delivery report to its message: add it to the timeline, and move the
-- message's status forward only (queued < sent < delivered | undelivered | failed), so a
-- late "sent" never overwrites "delivered". A duplicate report changes nothing.
-- KEYS[1] verification record
-- ARGV[1] message number   ARGV[2] status   ARGV[3] provider's status
-- ARGV[4] error code ("" if none)   ARGV[5] when it happened, ms ("" if unknown)
-- Returns {outcome, old status, new status, message sent at, app, country, provider,
--          channel}
-- outcome: changed | kept | duplicate | gone
local record, n = KEYS[1], ARGV[1]
local f = redis.call('HMGET', record, 'q' .. n, 'R' .. n, 'o' .. n, 'a', 'C', 'p' .. n,
  'h' .. n)
if not f[1] then return {'gone'} end
local old, events = f[1], tonumber(f[2] or '0')
local function answer(outcome, status)
  return {outcome, old, status, f[3] or '', f[4] or '', f[5] or '', f[6] or '', f[7] or 'sms'}
end
for k = 1, events do
  local event = cjson.decode(redis.call('HGET', record, 'r' .. n .. '.' .. k))
  if event[1] == ARGV[2] and event[2] == ARGV[3] then return answer('duplicate', old) end
end
local occurred = cjson.null
if ARGV[5] ~= '' then occurred = tonumber(ARGV[5]) end
local error_code = cjson.null
if ARGV[4] ~= '' then error_code = ARGV[4] end
redis.call('HSET', record, 'r' .. n .. '.' .. (events + 1),
  cjson.encode({ARGV[2], ARGV[3], now_ms(), occurred, error_code}), 'R' .. n, events + 1)
local rank = {queued = 0, sent = 1, delivered = 2, undelivered = 2, failed = 2, skipped = 2}
if rank[ARGV[2]] > (rank[old] or 1) then
  redis.call('HSET', record, 'q' .. n, ARGV[2])
  if ARGV[4] ~= '' then redis.call('HSET', record, 'z' .. n, ARGV[4]) end
  return answer('changed', ARGV[2])
end
return answer('kept', old)
