-- May a send go to this provider? Closed: yes. Open: no, until `open_for` has passed;
-- then the circuit turns half-open and this caller is the one probe let through.
-- KEYS[1] circuit hash of the provider
-- ARGV[1] open_for ms    ARGV[2] probe timeout ms (a probe that never reports is replaced)
-- Returns {state, allowed (1|0)}
local circuit = KEYS[1]
local now = now_ms()
local f = redis.call('HMGET', circuit, 'state', 'opened_at', 'probe_until')
local state = f[1] or 'closed'
if state == 'closed' then return {'closed', 1} end
if state == 'open' and now - tonumber(f[2]) < tonumber(ARGV[1]) then return {'open', 0} end
if state == 'half_open' and tonumber(f[3] or '0') > now then return {'half_open', 0} end
redis.call('HSET', circuit, 'state', 'half_open', 'probe_until', now + tonumber(ARGV[2]))
return {'half_open', 1}
