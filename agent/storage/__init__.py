"""Redis and what is kept on it: the client, every key format (keys.py), crypto (keyring), conversation state,
the erasure fence, handoff flags, leads."""
