"""A Twilio Verify v2-compatible API under ``/twilio/v2``: the routes, parameters, field
names, SIDs, statuses, paging and error bodies of Twilio's for what otpgate does, over
the same services as ``/v1`` (a verification started through one is read through the
other). README's "Migrating from Twilio Verify" lists every parameter."""
