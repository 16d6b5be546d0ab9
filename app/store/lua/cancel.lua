-- Cancel a pending verification; canceling a canceled one answers the same again.
-- KEYS[1] verification record    KEYS[2] its index
-- ARGV[1] app that asks          ARGV[2] retention ms
-- Returns {'canceled'} | {'canceled', 'again'} | {'not_found'} | {'expired'} | {'status', s}
local record, index = KEYS[1], KEYS[2]
local _, now, refusal = pending_fields(record, ARGV[1])
if refusal then
  if refusal[2] == 'canceled' then return {'canceled', 'again'} end
  return refusal
end
finish(record, index, 'canceled', now, tonumber(ARGV[2]))
return {'canceled'}
