"""Tenants: the folder loader (untrusted input), the model and its sections, the registry and hot reload."""
