"""The embedded offline LLM: the real llama.cpp server with SmolLM2-135M, through the same openai client path."""

from __future__ import annotations

import os

import httpx
import pytest
from openai import AsyncOpenAI

from agent.engines.local_llm import MODEL_ALIAS, LocalLLMError, bundled_model_path, local_llm_server
from pipelines.llm import Responder


async def test_embedded_server_answers_through_the_openai_client() -> None:
    with local_llm_server(threads=1) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        client = AsyncOpenAI(base_url=server.base_url, api_key="not-needed", max_retries=0)
        responder = Responder(client, server.model, timeout_s=60, max_tokens=40)
        messages = responder.messages(
            "You are a helpful shop assistant. Answer briefly.", [], "What are your opening hours?"
        )
        reply = await responder.reply(messages)
        await client.close()
        assert reply.text.strip()
        assert reply.model == MODEL_ALIAS
        assert reply.prompt_tokens > 10
        assert 0 < reply.completion_tokens <= 40
        pid = server.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the server process is gone once the context exits
    async with httpx.AsyncClient(timeout=1) as http:
        with pytest.raises(httpx.TransportError):
            await http.get(f"{server.base_url}/models")


def test_bundled_model_is_found_without_importing_its_package() -> None:
    path = bundled_model_path()
    assert path.suffix == ".gguf"
    assert path.stat().st_size > 50_000_000


def test_a_model_that_cannot_load_is_a_clear_error(tmp_path: object) -> None:
    from pathlib import Path

    bogus = Path(str(tmp_path)) / "broken.gguf"
    bogus.write_bytes(b"not a gguf file")
    with (
        pytest.raises(LocalLLMError, match="exited"),
        local_llm_server(model_path=bogus, startup_timeout_s=30),
    ):
        pass
