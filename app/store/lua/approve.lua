-- Approve a pending verification without a code (the app's backend decided: Twilio's
-- Status=approved, /v1's approve); its codes stop working, as after a right check.
-- KEYS[1] verification record    KEYS[2] its index
-- ARGV[1] app that asks          ARGV[2] retention ms
-- Returns {'approved', provider, channel, country} (the newest message's provider, "-"
--         if none took it yet, and channel; the number's country, for the statistics)
--       | {'not_found'} | {'expired'} | {'status', s}
local record, index = KEYS[1], KEYS[2]
local f, now, refusal = pending_fields(record, ARGV[1], 'N', 'C')
if refusal then return refusal end
local sent = redis.call('HMGET', record, 'p' .. f[4], 'h' .. f[4])
finish(record, index, 'approved', now, tonumber(ARGV[2]))
return {'approved', sent[1] or '-', sent[2] or 'sms', f[5] or ''}
