-- Move an Idempotency-Key from its claim to "sending": a provider is about to be called,
-- so from now on the entry lives the key's whole TTL. Only the claim's holder may do it;
-- a claim whose lease ran out may move on if no other request took the key meanwhile.
-- KEYS[1] the key's entry (JSON with a "token" member)
-- ARGV[1] the claim's token   ARGV[2] the entry in its sending phase   ARGV[3] TTL ms
-- Returns {'sending'}, or {'lost'} when another request holds the key.
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['token'] ~= ARGV[1] then return {'lost'} end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {'sending'}
