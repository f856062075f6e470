"""The streamed LLM request (`Responder.stream_completion`), against the local OpenAI-compatible peer speaking
server-sent events as OpenAI does for `"stream": true` (tests/llm_peer.py); its tool calls are tested through
the loop (test_automation_stream.py)."""

from __future__ import annotations

import json

import pytest
from openai import AsyncOpenAI

from pipelines.llm import Completion, LLMError, LLMFailure, Responder
from tests.llm_peer import serve_chat_peer


async def test_sentences_are_yielded_as_each_one_closes_before_the_stream_ends() -> None:
    reply = "It costs 1.9 lakh. Installation takes two days! Call us?"
    with serve_chat_peer(lambda _: reply) as peer:
        peer.token_delay_s = 0.1
        client = AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0)
        responder = Responder(client, "m")
        pieces: list[str | Completion] = []
        finished_then = []
        async for piece in responder.stream_completion(responder.messages("sys", [], "price?")):
            pieces.append(piece)
            finished_then.append(peer.streams_finished)
        assert pieces[:-1] == ["It costs 1.9 lakh. ", "Installation takes two days! ", "Call us?"]
        last = pieces[-1]
        assert isinstance(last, Completion)
        assert (last.text, last.tool_calls, last.model) == (reply, (), "m")  # the whole request, last
        assert last.prompt_tokens > 0  # usage asked for (stream_options) and reported by the peer
        assert last.completion_tokens > 0
        assert finished_then[0] == 0  # the first sentence came while the model was still writing
        assert peer.streams_finished == 1
        assert json.loads(peer.bodies[0])["stream"] is True
        assert "tools" not in json.loads(peer.bodies[0])
        await client.close()


@pytest.mark.parametrize(
    ("reply", "fail_with", "delay_s", "failure"),
    [
        ("", None, 0.0, LLMFailure.EMPTY),
        ("hi", 500, 0.0, LLMFailure.STATUS),
        ("hi", 429, 0.0, LLMFailure.RATE_LIMITED),
        ("hi", None, 2.0, LLMFailure.TIMEOUT),
    ],
)
async def test_a_failed_stream_is_a_typed_error(
    reply: str, fail_with: int | None, delay_s: float, failure: LLMFailure
) -> None:
    with serve_chat_peer(lambda _: reply) as peer:
        peer.fail_with, peer.delay_s = fail_with, delay_s
        client = AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0)
        responder = Responder(client, "m", timeout_s=0.5)
        with pytest.raises(LLMError) as err:
            async for _ in responder.stream_completion(responder.messages("sys", [], "hello")):
                pass
        assert err.value.failure is failure
        await client.close()


async def test_an_unreachable_endpoint_is_a_typed_error() -> None:
    client = AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0)
    responder = Responder(client, "m", timeout_s=2)
    with pytest.raises(LLMError) as err:
        async for _ in responder.stream_completion(responder.messages("sys", [], "hello")):
            pass
    assert err.value.failure is LLMFailure.CONNECTION
    await client.close()
