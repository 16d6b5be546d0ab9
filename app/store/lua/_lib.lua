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

-- A verification's fields 'a' (app), 's' (status), 'E' (expiry) and then `...`, if it is
-- `app`'s and still pending, and the time; else nil, nil and what the script answers:
-- {'not_found'}, {'status', s}, or {'expired'} (it has just expired: its codes go).
local function pending_fields(record, app, ...)
  local f = redis.call('HMGET', record, 'a', 's', 'E', ...)
  if not f[1] or f[1] ~= app then return nil, nil, {'not_found'} end
  if f[2] ~= 'pending' then return nil, nil, {'status', f[2]} end
  local now = now_ms()
  if tonumber(f[3]) <= now then
    expire_now(record)
    return nil, nil, {'expired'}
  end
  return f, now
end

-- Rates come as ARGV: a count, then (limit, window ms) pairs. Returns the pairs as one
-- flat list and the position after them.
local function read_rates(argv, at)
  local count, rates = tonumber(argv[at]), {}
  for i = 1, 2 * count do rates[i] = tonumber(argv[at + i]) end
  return rates, at + 1 + 2 * count
end

-- Moving window (exact, as the `limits` library counts it): a list of send times, newest
-- first, as long as the rule's largest limit, read once per request. A rate is exhausted
-- when its limit-th newest entry is still inside its window.
local function window_read(key, rates)
  local deepest = 0
  for i = 1, #rates, 2 do deepest = math.max(deepest, rates[i]) end
  if deepest == 0 then return {} end
  return redis.call('LRANGE', key, 0, deepest - 1)
end

-- The exhausted rate's position and when it frees up, or nil.
local function window_refusal(entries, now, rates)
  for i = 1, #rates, 2 do
    local entry = entries[rates[i]]
    if entry and tonumber(entry) > now - rates[i + 1] then
      return (i + 1) / 2, tonumber(entry) + rates[i + 1]
    end
  end
  return nil
end

local function window_take(key, entries, now, rates)
  local deepest, longest = 1, 1
  for i = 1, #rates, 2 do
    deepest = math.max(deepest, rates[i])
    longest = math.max(longest, rates[i + 1])
  end
  redis.call('LPUSH', key, now)
  redis.call('LTRIM', key, 0, deepest - 1)
  redis.call('PEXPIRE', key, longest)
  table.insert(entries, 1, now)
end

-- What is left of each rate, for the RateLimit headers and the admin view: a flat list
-- of (remaining, resets at ms) per rate.
local function window_room(entries, now, rates)
  local room = {}
  for i = 1, #rates, 2 do
    local limit, window = rates[i], rates[i + 1]
    local count, oldest = 0, nil
    for k = 1, math.min(limit, #entries) do
      local at = tonumber(entries[k])
      if at > now - window then count, oldest = count + 1, at end
    end
    table.insert(room, limit - count)
    table.insert(room, oldest and oldest + window or now)
  end
  return room
end

-- Sliding-window counters (the `limits` library's estimate, for large budgets): a count
-- per fixed window and the previous window's, weighted by how much of it still overlaps.
-- Kept in one hash, fields s<name> (window start), c<name> (count), p<name> (previous
-- count); all the counters of a key are read with one HMGET.
local function counters_read(key, names, windows, now)
  local fields = {}
  for _, name in ipairs(names) do
    table.insert(fields, 's' .. name)
    table.insert(fields, 'c' .. name)
    table.insert(fields, 'p' .. name)
  end
  if #fields == 0 then return {} end
  local f = redis.call('HMGET', key, unpack(fields))
  local states = {}
  for j, name in ipairs(names) do
    local window = windows[j]
    local start = tonumber(f[3 * j - 2]) or 0
    local current, previous = tonumber(f[3 * j - 1]) or 0, tonumber(f[3 * j]) or 0
    local aligned = now - (now % window)
    if start ~= aligned then
      if start == aligned - window then previous = current else previous = 0 end
      current, start = 0, aligned
    end
    states[j] = {name = name, window = window, start = start, current = current,
      previous = previous}
  end
  return states
end

-- The previous window's count weighted by its overlap, unrounded: `limits` rounds the
-- weighted share down, which lets a small budget pass one more send across each window
-- boundary (a "2/minute" budget took 3 sends within 30 ms); unrounded, a burst across
-- the boundary meets the budget as it would within one window.
local function counter_weight(state, now)
  return state.previous * (state.start + state.window - now) / state.window + state.current
end

-- Whole events (the conversion guard counts verifications started and approved).
local function counter_estimate(state, now)
  return math.floor(counter_weight(state, now))
end

local function counters_add(key, states, amount)
  local fields = {}
  for _, state in ipairs(states) do
    state.current = math.max(0, state.current + amount)
    for _, value in ipairs({'s' .. state.name, state.start, 'c' .. state.name, state.current,
        'p' .. state.name, state.previous}) do
      table.insert(fields, value)
    end
  end
  if #fields > 0 then redis.call('HSET', key, unpack(fields)) end
end

-- A budget's rates are counters named 1, 2, ... in one hash.
local function budget_read(key, now, rates)
  local names, windows = {}, {}
  for i = 1, #rates, 2 do
    table.insert(names, (i + 1) / 2)
    table.insert(windows, rates[i + 1])
  end
  return counters_read(key, names, windows, now)
end

-- When a spent budget frees for one more send if none is taken meanwhile: later in this
-- window as the previous one's share fades, else in the next as this one's does.
local function budget_free_at(state, limit)
  local room = limit - 1 - state.current
  if room >= 0 then
    return math.ceil(state.start + state.window - room * state.window / state.previous)
  end
  return math.ceil(state.start + state.window * (2 - (limit - 1) / state.current))
end

local function budget_refusal(states, now, rates)
  for i = 1, #rates, 2 do
    local state = states[(i + 1) / 2]
    if counter_weight(state, now) + 1 > rates[i] then
      return (i + 1) / 2, budget_free_at(state, rates[i])
    end
  end
  return nil
end

local function budget_take(key, states, rates)
  local longest = 1
  for i = 1, #rates, 2 do longest = math.max(longest, rates[i + 1]) end
  counters_add(key, states, 1)
  redis.call('PEXPIRE', key, 2 * longest)
end

local function budget_room(states, now, rates)
  local room = {}
  for i = 1, #rates, 2 do
    local state = states[(i + 1) / 2]
    table.insert(room, math.max(0, math.floor(rates[i] - counter_weight(state, now))))
    table.insert(room, state.start + rates[i + 1])
  end
  return room
end

-- A throttle of either kind ("w" moving window, "b" budget): read once, then judged,
-- taken and measured from what was read.
local function throttle_read(kind, key, now, rates)
  if kind == 'w' then return window_read(key, rates) end
  return budget_read(key, now, rates)
end

local function throttle_refusal(kind, state, now, rates)
  if kind == 'w' then return window_refusal(state, now, rates) end
  return budget_refusal(state, now, rates)
end

local function throttle_take(kind, key, state, now, rates)
  if kind == 'w' then window_take(key, state, now, rates) else budget_take(key, state, rates) end
end

local function throttle_room(kind, state, now, rates)
  if kind == 'w' then return window_room(state, now, rates) end
  return budget_room(state, now, rates)
end
