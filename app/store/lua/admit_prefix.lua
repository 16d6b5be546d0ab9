-- A send under one number prefix of one app: its block, and prefix velocity (distinct
-- numbers under it within a window; `limits` counts events, not distinct members).
-- KEYS[1] the prefix's block   KEYS[2] the digests of numbers sent to under it (a zset)
-- ARGV[1] this number's digest   ARGV[2] window ms   ARGV[3] most numbers allowed
-- ARGV[4] block ms   ARGV[5] id of a new block   ARGV[6] app   ARGV[7] the prefix
-- Returns {'blocked', block JSON} | {'new_block', block JSON} | {'ok', distinct numbers}
local now = now_ms()
local block = redis.call('GET', KEYS[1])
if block then return {'blocked', block} end
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], window)
local distinct = redis.call('ZCARD', KEYS[2])
if distinct > tonumber(ARGV[3]) then
  local hold = tonumber(ARGV[4])
  block = cjson.encode({id = ARGV[5], app = ARGV[6], kind = 'prefix', subject = ARGV[7],
    reason = string.format('%d numbers under %s within %s s', distinct, ARGV[7],
      tostring(window / 1000)),
    created_at = now / 1000, ['until'] = (now + hold) / 1000})
  redis.call('SET', KEYS[1], block, 'PX', hold)
  return {'new_block', block}
end
return {'ok', distinct}
