"""Apps (tenants), their API keys and the auth guard."""
