-- Let go of an Idempotency-Key whose request sent nothing, unless another request holds
-- it now (this one's lease ran out and the key was claimed again).
-- KEYS[1] the key's entry (JSON with a "token" member)
-- ARGV[1] the claim's token
-- Returns {'released'} or {'kept'}.
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['token'] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {'released'}
end
return {'kept'}
