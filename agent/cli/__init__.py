"""The `leadclose` command: one sub-command per job (serve, worker, calls, demo, consent, prompts, ...)."""
