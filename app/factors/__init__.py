"""TOTP authenticator factors (RFC 6238): enroll, confirm, check, revoke."""
