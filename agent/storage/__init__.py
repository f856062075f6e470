"""Redis and what is kept on it: the client, key formats, crypto (keyring), conversation state, the erasure fence."""
