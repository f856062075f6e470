"""The runtime: wires the stages in `pipelines/` to settings, tenants, WhatsApp, Redis and the LLM endpoint."""
