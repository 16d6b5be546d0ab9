-- Shared prelude, prepended to every script when it is loaded (Lua scripts cannot import).

-- Milliseconds on the Redis server's clock, so every instance agrees on expiry.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Forget every code hash of a verification record.
local function clear_codes(record)
  local sends = tonumber(redis.call('HGET', record, 'sends') or '0')
  for n = 1, sends do
    redis.call('HDEL', record, 'c:' .. n, 'ce:' .. n)
  end
end

-- Drop the pending index if it still points at verification `id`.
local function release_index(index, id)
  local value = redis.call('GET', index)
  if value and string.match(value, '^(%S+)') == id then
    redis.call('DEL', index)
  end
end

-- End a pending verification: new status, no codes, kept `retention` ms for reads.
local function finish(record, index, status, now, retention)
  clear_codes(record)
  redis.call('HSET', record, 'status', status, 'updated', now)
  release_index(index, redis.call('HGET', record, 'id'))
  redis.call('PEXPIRE', record, retention)
end

-- Mark a pending verification expired (its codes go; the record stays for reads).
local function expire_now(record, now)
  clear_codes(record)
  redis.call('HSET', record, 'status', 'expired', 'updated', now)
end
