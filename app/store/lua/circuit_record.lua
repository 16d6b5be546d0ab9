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

redis.call('LPUSH', latencies, ARGV[2])
redis.call('LTRIM', latencies, 0, 199)
redis.call('HINCRBY', circuit, 'b:' .. bucket .. (ok and ':ok' or ':fail'), 1)

local oldest = bucket - 9
local succeeded, failed = 0, 0
local fields = redis.call('HKEYS', circuit)
for _, field in ipairs(fields) do
  local b, kind = string.match(field, '^b:(%d+):(%a+)$')
  if b then
    if tonumber(b) < oldest then
      redis.call('HDEL', circuit, field)
    elseif kind == 'ok' then
      succeeded = succeeded + tonumber(redis.call('HGET', circuit, field))
    else
      failed = failed + tonumber(redis.call('HGET', circuit, field))
    end
  end
end

local state = redis.call('HGET', circuit, 'state') or 'closed'
local failures = 0
if ok then
  redis.call('HSET', circuit, 'failures', 0)
  if state == 'half_open' then
    for _, field in ipairs(redis.call('HKEYS', circuit)) do
      if string.sub(field, 1, 2) == 'b:' then redis.call('HDEL', circuit, field) end
    end
    redis.call('HSET', circuit, 'state', 'closed')
    state, succeeded, failed = 'closed', 0, 0
  end
else
  failures = redis.call('HINCRBY', circuit, 'failures', 1)
  local total = succeeded + failed
  if state == 'half_open' or (state == 'closed' and (failures >= tonumber(ARGV[3])
      or (total >= tonumber(ARGV[5]) and failed / total >= tonumber(ARGV[6])))) then
    redis.call('HSET', circuit, 'state', 'open', 'opened_at', now, 'probe_until', 0)
    state = 'open'
  end
end
redis.call('PEXPIRE', circuit, window * 10)
redis.call('PEXPIRE', latencies, window * 10)
return {state, failures, succeeded, failed}
