"""The call's LiveKit LLM (`AutomationLLM`) over the streamed tool loop, driven as LiveKit drives it (`chat()`
→ an `LLMStream` of chunks), against the local OpenAI-compatible peer (tests/llm_peer.py) streaming text and
tool calls as OpenAI does; the tools are a real in-process toolbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from livekit.agents import APIStatusError, llm
from openai import AsyncOpenAI

from agent.calls.llm import AutomationLLM
from pipelines.automation import Automation, ToolCallRecord, ToolSpec
from pipelines.llm import Responder
from pipelines.pii import RestorePolicy, Vault
from tests.llm_peer import Call, serve_chat_peer
from tests.pii_guard import pii_guard
from tests.pipelines.test_automation import LocalToolBox

if TYPE_CHECKING:
    from collections.abc import Sequence

BOOK = ToolSpec("book_visit", "Book a visit", {"type": "object", "properties": {"day": {"type": "string"}}})


def model(messages: list[dict[str, Any]]) -> str | Sequence[str | Call]:
    if messages[-1]["role"] == "tool":
        return "Your visit is booked for Monday. See you then!"
    return ["Let me check the calendar.", Call("book_visit", {"day": "Monday"})]


def _context() -> llm.ChatContext:
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="system", content="You book visits.")
    ctx.add_message(role="user", content="Can I come on Monday?")
    return ctx


async def _listen(llm_: AutomationLLM, heard: list[Any]) -> None:
    """Drives the LLM as LiveKit's `llm_node` does, appending each chunk's text to `heard`."""
    async with llm_.chat(chat_ctx=_context()) as stream:
        async for chunk in stream:
            heard.append(chunk.delta.content or "" if chunk.delta else "")


async def test_sentences_and_tool_reports_reach_livekit_in_the_order_they_happen() -> None:
    events: list[str | list[str]] = []

    def reported(calls: Sequence[ToolCallRecord]) -> None:
        events.append([c.name for c in calls])

    with serve_chat_peer(model) as peer:
        peer.token_delay_s = 0.02
        async with AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0) as client:
            responder = Responder(client, "m", timeout_s=5)
            box = LocalToolBox([BOOK])
            llm_ = AutomationLLM(
                responder,
                Automation(responder, pii_guard()),
                model="m",
                vault=Vault(),
                policy=RestorePolicy(),
                toolbox=box,
                on_tool_calls=reported,
            )
            await _listen(llm_, events)
    # The handoff-style report comes between what was said before the call and the reply it leads to.
    assert events == [
        "Let me check the calendar. ",
        ["book_visit"],
        "Your visit is booked for Monday. ",
        "See you then!",
    ]
    assert box.received == [("book_visit", {"day": "Monday"})]
    assert all(r["stream"] for r in peer.requests)
    assert peer.rejected == []


async def test_an_endpoint_failing_mid_stream_is_a_final_livekit_error() -> None:
    with serve_chat_peer(lambda _: "We are open until seven. Parking is free.") as peer:
        peer.break_after = 6
        async with AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0) as client:
            responder = Responder(client, "m", timeout_s=5)
            llm_ = AutomationLLM(
                responder,
                Automation(responder, pii_guard()),
                model="m",
                vault=Vault(),
                policy=RestorePolicy(),
            )
            said: list[str] = []
            with pytest.raises(APIStatusError) as err:
                await _listen(llm_, said)
    assert said == ["We are open until seven. "]  # spoken before the failure; the apology follows it
    assert not err.value.retryable  # the agent apologises at once instead of waiting out retries
    assert len(peer.bodies) == 1
