-- Record one attempt's outcome: it moves the circuit and feeds the dashboard's figures.
-- The circuit opens after `failures` consecutive failures, or when the error rate over
-- the window reaches `error_rate` with at least `min_requests` attempts in it; a probe
-- in half-open state closes it (forgetting the window) or opens it again.
-- KEYS[1] circuit hash    KEYS[2] list of recent latencies (ms)
-- ARGV[1] 1 success / 0 failure   ARGV[2] latency ms    ARGV[3] failures to open
-- ARGV[4] window ms       ARGV[5] min requests          ARGV[6] error rate to open
-- Returns {state, consecutive failures, successes in window, failures in window}
local circuit, latencies = KEYS[1], KEYS[2]
local ok = ARGV[1] == '1'
local window = tonumber(ARGV[4])
local bucket_ms = math.max(1, math.floor(window / 10))
local now = now_ms()
local bucket = math.floor(now / bucket_ms)
local mine = 'b:' .. bucket .. (ok and ':ok' or ':fail')

redis.call('LPUSH', latencies, ARGV[2])
redis.call('LTRIM', latencies, 0, 199)

-- One read of the whole hash (state, failures and at most 20 bucket counts).
local fields = redis.call('HGETALL', circuit)
local state, failures, stale, counted = 'closed', 0, {}, 0
local succeeded, failed = ok and 1 or 0, ok and 0 or 1
for i = 1, #fields, 2 do
  local field, value = fields[i], fields[i + 1]
  local b, kind = string.match(field, '^b:(%d+):(%a+)$')
  if field == mine then counted = tonumber(value) end
  if b then
    if tonumber(b) < bucket - 9 then
      table.insert(stale, field)
    elseif kind == 'ok' then
      succeeded = succeeded + tonumber(value)
    else
      failed = failed + tonumber(value)
    end
  elseif field == 'state' then
    state = value
  elseif field == 'failures' then
    failures = tonumber(value)
  end
end

local changes = {mine, counted + 1}
if ok then
  if state == 'half_open' then
    for i = 1, #fields, 2 do
      if string.sub(fields[i], 1, 2) == 'b:' then table.insert(stale, fields[i]) end
    end
    changes = {'state', 'closed'}
    state, succeeded, failed = 'closed', 0, 0
  end
  failures = 0
  table.insert(changes, 'failures')
  table.insert(changes, 0)
else
  failures = failures + 1
  table.insert(changes, 'failures')
  table.insert(changes, failures)
  local total = succeeded + failed
  if state == 'half_open' or (state == 'closed' and (failures >= tonumber(ARGV[3])
      or (total >= tonumber(ARGV[5]) and failed / total >= tonumber(ARGV[6])))) then
    for _, value in ipairs({'state', 'open', 'opened_at', now, 'probe_until', 0}) do
      table.insert(changes, value)
    end
    state = 'open'
  end
end
if #stale > 0 then redis.call('HDEL', circuit, unpack(stale)) end
redis.call('HSET', circuit, unpack(changes))
redis.call('PEXPIRE', circuit, window * 10)
redis.call('PEXPIRE', latencies, window * 10)
return {state, failures, succeeded, failed}
