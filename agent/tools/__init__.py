"""The tools a tenant's assistant may call: built-ins, booking, and the tenant's signed HTTP endpoints."""
