-- Apply one delivery report to its message: add it to the timeline, and move the
-- message's status forward only (queued < sent < delivered | undelivered | failed), so a
-- late "sent" never overwrites "delivered". A duplicate report changes nothing.
-- KEYS[1] verification record
-- ARGV[1] message number   ARGV[2] status   ARGV[3] provider's status
-- ARGV[4] error code ("" if none)   ARGV[5] when it happened, ms ("" if unknown)
-- Returns {outcome, old status, new status, message created_at, app, region, provider}
-- outcome: changed | kept | duplicate | gone
local record = KEYS[1]
local field = 'm:' .. ARGV[1]
local raw = redis.call('HGET', record, field)
if not raw then return {'gone'} end
local message = cjson.decode(raw)
local timeline = message['timeline']
if type(timeline) ~= 'table' then timeline = {} end
local context = redis.call('HMGET', record, 'app', 'region')
local function answer(outcome, old)
  return {outcome, old, message['status'], tostring(message['created_at'] or ''),
          context[1] or '', context[2] or '', tostring(message['provider'] or '')}
end
for _, event in ipairs(timeline) do
  if event['status'] == ARGV[2] and event['provider_status'] == ARGV[3] then
    return answer('duplicate', message['status'])
  end
end
local event = {status = ARGV[2], provider_status = ARGV[3], received_at = now_ms()}
if ARGV[4] ~= '' then event['error_code'] = ARGV[4] end
if ARGV[5] ~= '' then event['occurred_at'] = tonumber(ARGV[5]) end
table.insert(timeline, event)
message['timeline'] = timeline
local rank = {queued = 0, sent = 1, delivered = 2, undelivered = 2, failed = 2, skipped = 2}
local old = message['status']
local outcome = 'kept'
if rank[ARGV[2]] > (rank[old] or 1) then
  message['status'] = ARGV[2]
  if ARGV[4] ~= '' then message['error_code'] = ARGV[4] end
  outcome = 'changed'
end
redis.call('HSET', record, field, cjson.encode(message))
return answer(outcome, old)
