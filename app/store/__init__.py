"""Redis: the client, the embedded server, key names and the Lua scripts."""
