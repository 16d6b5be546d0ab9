-- Shared prelude, prepended to every script when it is loaded (Lua scripts cannot import).
-- Every key a script touches comes in KEYS; names are never built here.

-- Milliseconds on the Redis server's clock, so every instance agrees on time.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Forget every code hash of a verification record.
local function clear_codes(record)
  local sends = tonumber(redis.call('HGET', record, 'N') or '0')
  for n = 1, sends do
    redis.call('HDEL', record, 'c' .. n, 'e' .. n)
  end
end

-- The index of (app, number, purpose): "<id> <last send> <sends> <max sends> <cooldown>
-- <pending until>"; once the verification ends, "pending until" is 0 and the index only
-- names the newest verification (for checks by number).
local function read_index(index)
  local value = redis.call('GET', index)
  if not value then return nil end
  local id, last, sends, max, cooldown, pending = string.match(value,
    '^(%S+) (%d+) (%d+) (%d+) (%d+) (%d+)$')
  return {id = id, last = tonumber(last), sends = tonumber(sends), max = tonumber(max),
    cooldown = tonumber(cooldown), pending = tonumber(pending)}
end

local function index_ended(index, id)
  local entry = read_index(index)
  if entry and entry.id == id and entry.pending > 0 then
    redis.call('SET', index, table.concat({id, entry.last, entry.sends, entry.max,
      entry.cooldown, 0}, ' '), 'KEEPTTL')
  end
end

-- End a pending verification: new status, no codes, kept `retention` ms for reads.
local function finish(record, index, status, now, retention)
  clear_codes(record)
  redis.call('HSET', record, 's', status)
  index_ended(index, redis.call('HGET', record, 'id'))
  redis.call('PEXPIRE', record, retention)
end

-- Mark a pending verification expired (its codes go; the record stays for reads).
local function expire_now(record)
  clear_codes(record)
  redis.call('HSET', record, 's', 'expired')
end

-- Rates come as ARGV: a count, then (limit, window ms) pairs. Returns the pairs as one
-- flat list and the position after them.
local function read_rates(argv, at)
  local count, rates = tonumber(argv[at]), {}
  for i = 1, 2 * count do rates[i] = tonumber(argv[at + i]) end
  return rates, at + 1 + 2 * count
end

-- Moving window (exact, as the `limits` library counts it): a list of send times, newest
-- first, as long as the rule's largest limit. A rate is exhausted when its limit-th
-- newest entry is still inside its window. Returns the exhausted rate's position and
-- when it frees up, or nil.
local function window_refusal(key, now, rates)
  for i = 1, #rates, 2 do
    local entry = redis.call('LINDEX', key, rates[i] - 1)
    if entry and tonumber(entry) > now - rates[i + 1] then
      return (i + 1) / 2, tonumber(entry) + rates[i + 1]
    end
  end
  return nil
end

local function window_take(key, now, rates)
  local deepest, longest = 1, 1
  for i = 1, #rates, 2 do
    deepest = math.max(deepest, rates[i])
    longest = math.max(longest, rates[i + 1])
  end
  redis.call('LPUSH', key, now)
  redis.call('LTRIM', key, 0, deepest - 1)
  redis.call('PEXPIRE', key, longest)
end

-- Sliding-window counter (the `limits` library's estimate, for large budgets): a count
-- per fixed window and the previous window's, weighted by how much of it still overlaps.
-- Kept in one hash, fields s<n> (window start), c<n> (count), p<n> (previous count).
local function counter_state(key, name, now, window)
  local f = redis.call('HMGET', key, 's' .. name, 'c' .. name, 'p' .. name)
  local start, current, previous = tonumber(f[1]) or 0, tonumber(f[2]) or 0, tonumber(f[3]) or 0
  local aligned = now - (now % window)
  if start ~= aligned then
    if start == aligned - window then previous = current else previous = 0 end
    current, start = 0, aligned
  end
  local estimate = math.floor(previous * (start + window - now) / window) + current
  return start, current, previous, estimate
end

local function counter_add(key, name, now, window, amount)
  local start, current, previous = counter_state(key, name, now, window)
  redis.call('HSET', key, 's' .. name, start, 'c' .. name, math.max(0, current + amount),
    'p' .. name, previous)
end

local function budget_refusal(key, now, rates)
  for i = 1, #rates, 2 do
    local start, _, _, estimate = counter_state(key, (i + 1) / 2, now, rates[i + 1])
    if estimate + 1 > rates[i] then return (i + 1) / 2, start + rates[i + 1] end
  end
  return nil
end

local function budget_take(key, now, rates)
  local longest = 1
  for i = 1, #rates, 2 do
    counter_add(key, (i + 1) / 2, now, rates[i + 1], 1)
    longest = math.max(longest, rates[i + 1])
  end
  redis.call('PEXPIRE', key, 2 * longest)
end

local function refusal(kind, key, now, rates)
  if kind == 'w' then return window_refusal(key, now, rates) end
  return budget_refusal(key, now, rates)
end

local function take(kind, key, now, rates)
  if kind == 'w' then window_take(key, now, rates) else budget_take(key, now, rates) end
end

-- What is left of each rate, for the RateLimit headers and the admin view: a flat list
-- of (remaining, resets at ms) per rate.
local function window_room(key, now, rates)
  local room = {}
  for i = 1, #rates, 2 do
    local limit, window = rates[i], rates[i + 1]
    local entries = redis.call('LRANGE', key, 0, limit - 1)
    local count, oldest = 0, nil
    for _, entry in ipairs(entries) do
      if tonumber(entry) > now - window then
        count, oldest = count + 1, tonumber(entry)
      end
    end
    table.insert(room, limit - count)
    table.insert(room, oldest and oldest + window or now)
  end
  return room
end

local function budget_room(key, now, rates)
  local room = {}
  for i = 1, #rates, 2 do
    local start, _, _, estimate = counter_state(key, (i + 1) / 2, now, rates[i + 1])
    table.insert(room, math.max(0, rates[i] - estimate))
    table.insert(room, start + rates[i + 1])
  end
  return room
end

local function room(kind, key, now, rates)
  if kind == 'w' then return window_room(key, now, rates) end
  return budget_room(key, now, rates)
end
