"""Prompt assembly and the LLM call, against the local OpenAI-compatible peer (tests/llm_peer.py)."""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI

from pipelines.llm import ChatTurn, LLMError, LLMFailure, Responder
from tests.llm_peer import serve_chat_peer


def test_history_is_capped_so_turn_cost_does_not_grow() -> None:
    responder = Responder(AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="x"), "m", max_history=4)
    history = [ChatTurn("user" if i % 2 == 0 else "assistant", f"m{i}") for i in range(100)]
    messages = responder.messages("sys", history, "now")
    assert [m["content"] for m in messages] == ["sys", "m96", "m97", "m98", "m99", "now"]


async def test_empty_reply_is_a_typed_error() -> None:
    with serve_chat_peer(lambda _: "") as peer:
        client = AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0)
        responder = Responder(client, "m")
        with pytest.raises(LLMError) as err:
            await responder.reply(responder.messages("sys", [], "hello"))
        assert err.value.failure is LLMFailure.EMPTY
        await client.close()


async def test_unreachable_endpoint_is_a_typed_error() -> None:
    client = AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0)
    responder = Responder(client, "m", timeout_s=2)
    with pytest.raises(LLMError) as err:
        await responder.reply(responder.messages("sys", [], "hello"))
    assert err.value.failure is LLMFailure.CONNECTION
    await client.close()


async def test_rate_limit_is_a_typed_error() -> None:
    with serve_chat_peer(lambda _: "hi") as peer:
        peer.fail_with = 429
        client = AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0)
        responder = Responder(client, "m")
        with pytest.raises(LLMError) as err:
            await responder.reply(responder.messages("sys", [], "hello"))
        assert err.value.failure is LLMFailure.RATE_LIMITED
        await client.close()
