"""What a process loads once: speech recognition and synthesis engines, voices, the LLM endpoint."""
