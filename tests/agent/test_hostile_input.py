"""One hostile message must not stall the pool (issue 12), through the whole product in one process
(tests/agent/stack.py): the real app and Worker on a real redis-server, the local Graph API peer and the local
OpenAI-compatible peer (tests/llm_peer.py) on 127.0.0.1, which checks the protocol and records every request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.agent.stack import TOKEN, TOKEN_ENV, eventually, first_reply, running_stack
from tests.agent.whatsapp import webhooks as wh
from tests.conftest import ROOT
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.agent.stack import Stack
    from tests.redis_server import RedisServer

ALICE, BOB = "919876543210", "447700900123"
# The texts of issue 12 that froze a worker, in one message of WhatsApp's maximum length, with a real value
# inside that must still be masked.
HOSTILE = "naam " + "क" * 40 + "! flat" + " " * 1000 + "! Pune" + "," * 1500 + "x Mumbai, call 98765 43210 "
HOSTILE += "a 1 " * ((4096 - len(HOSTILE)) // 4)
QUESTION = "Do you install rooftop solar in Pune?"
LONG_ANSWER_WORDS = 48  # at the peer's pace, the hostile turn outlives its lease: only heartbeats keep it


def _fallback() -> str:
    from agent.tenants.registry import TenantRegistry

    config = TenantRegistry.load(ROOT / "prompts").get("default").turn
    return config.texts.get(config.language).unavailable


def _answer(messages: list[dict[str, Any]]) -> str:
    said = messages[-1]["content"]
    return "noted " * LONG_ANSWER_WORDS if "<PHONE_1>" in said else "Yes, we install in Pune."


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def _texts(stack: Stack, user: str) -> list[str]:
    return [m["text"]["body"] for m in stack.sent_to(user)]


async def test_a_hostile_text_does_not_hold_back_the_next_person_nor_lose_its_lease(
    redis: Redis, redis_server: RedisServer, transcriber: WhisperTranscriber, synthesizer: PiperSynthesizer
) -> None:
    async with running_stack(
        redis, redis_server.url, transcriber, synthesizer, reply=_answer, lease_ms=600
    ) as stack:
        stack.llm.token_delay_s = 0.03  # the hostile turn's answer takes ~1.4 s, over two leases
        await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.h1", HOSTILE)]))
        await eventually(lambda: len(stack.llm.requests) == 1, 10)  # the hostile text was scanned
        await stack.post(wh.payload(messages=[wh.text(BOB, "wamid.q1", QUESTION)]))
        await eventually(lambda: len(_texts(stack, BOB)) == 1, 10)
        assert _texts(stack, ALICE) == []  # Bob was answered while Alice's turn was still in flight
        await eventually(lambda: len(_texts(stack, ALICE)) == 1, 15)
        heartbeats_held = sum("<PHONE_1>" in r["messages"][-1]["content"] for r in stack.llm.requests) == 1
        assert not await stack.has_dead_letters()
    assert _texts(stack, BOB) == [first_reply("Yes, we install in Pune.")]
    (alice,) = _texts(stack, ALICE)
    assert alice in (first_reply(("noted " * LONG_ANSWER_WORDS).strip()), first_reply(_fallback()))
    assert heartbeats_held  # one LLM request for the hostile turn: its lease never lapsed to a second claim
    hostile_prompt = next(r for r in stack.llm.requests if "<PHONE_1>" in r["messages"][-1]["content"])
    assert "98765" not in str(hostile_prompt)


async def test_a_text_not_minimized_in_time_never_reaches_the_llm_and_gets_the_fallback(
    redis: Redis, redis_server: RedisServer, transcriber: WhisperTranscriber, synthesizer: PiperSynthesizer
) -> None:
    starved = pii_guard(budget_s=1e-9)  # no text can be scanned within it
    async with running_stack(redis, redis_server.url, transcriber, synthesizer, pii=starved) as stack:
        await stack.post(wh.payload(messages=[wh.text(ALICE, "wamid.p1", "call me on 98765 43210")]))
        await eventually(lambda: len(_texts(stack, ALICE)) == 1, 10)
        subject = stack.privacy.subject("default", ALICE)

        async def recorded() -> list[dict[str, Any]]:
            rows = await stack.privacy.processing.records("default", subject)
            return [r for r in rows if r["event"] == "turn"]

        await eventually(recorded, 10)
        (record,) = await recorded()
    assert _texts(stack, ALICE) == [first_reply(_fallback())]
    assert stack.llm.requests == []  # the text went nowhere
    assert record["outcome"] == "pii_timeout"
    assert "98765" not in str(record)
