"""The streamed tool loop (`Automation.stream`) against the local OpenAI-compatible peer (tests/llm_peer.py),
which streams text and tool calls as OpenAI does (server-sent events; a call's arguments split over several
chunks), checks that every call comes back as it made it and is answered by its id, and rejects a request
carrying a raw value it was told to watch for."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from openai import AsyncOpenAI

from pipelines.automation import Automation, ToolCallRecord, ToolSpec
from pipelines.llm import LLMError, LLMFailure, Responder
from pipelines.pii import Minimizer, Vault
from tests.llm_peer import Call, ChatPeer, serve_chat_peer
from tests.pii_guard import pii_guard
from tests.pipelines.test_automation import EMAIL, LEAD_SCHEMA, PHONE, POLICY, LocalToolBox, _prompt, _script

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

BOOK = ToolSpec(
    "book_visit", "Book a site visit", {"type": "object", "properties": {"day": {"type": "string"}}}
)
LEAD = ToolSpec("capture_lead", "Save a lead", LEAD_SCHEMA, restores_pii=True)


@pytest.fixture
async def peer() -> AsyncIterator[ChatPeer]:
    with serve_chat_peer(lambda _: "unused") as peer:
        yield peer


class Listener:
    """What a call hears from the loop, in order: sentences and tool-call reports."""

    def __init__(self) -> None:
        self.events: list[str | list[ToolCallRecord]] = []

    def tools(self, calls: Sequence[ToolCallRecord]) -> None:
        self.events.append(list(calls))

    @property
    def sentences(self) -> list[str]:
        return [e for e in self.events if isinstance(e, str)]

    @property
    def reports(self) -> list[list[ToolCallRecord]]:
        return [e for e in self.events if isinstance(e, list)]


async def _listen(
    peer: ChatPeer,
    box: LocalToolBox | None,
    text: str,
    *,
    max_steps: int = 4,
    vault: Vault | None = None,
    listener: Listener | None = None,
) -> Listener:
    vault = vault or Vault()
    listener = listener or Listener()
    async with AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0) as client:
        loop = Automation(Responder(client, "m", timeout_s=5), pii_guard(), max_steps=max_steps)
        prompt = _prompt(Minimizer(), vault, text)
        async for sentence in loop.stream(prompt, box, vault, POLICY, on_tool_calls=listener.tools):
            listener.events.append(sentence)
    return listener


async def test_text_before_and_after_a_tool_call_is_spoken_in_order(peer: ChatPeer) -> None:
    peer.reply = _script(
        ["Let me check that for you.", Call("book_visit", {"day": "Monday"})],
        "Your visit is booked for Monday. See you then!",
    )
    box = LocalToolBox([BOOK])
    heard = await _listen(peer, box, "Can I visit on Monday?")

    assert heard.events[0] == "Let me check that for you. "
    assert [[c.name for c in r] for r in heard.reports] == [["book_visit"]]
    assert heard.events.index(heard.reports[0]) == 1  # reported before the follow-up is streamed
    assert heard.sentences[1:] == ["Your visit is booked for Monday. ", "See you then!"]
    assert box.received == [("book_visit", {"day": "Monday"})]
    assert all(r["stream"] is True for r in peer.requests)
    assert peer.rejected == []
    follow_up = peer.requests[1]["messages"]
    assert follow_up[-2]["content"] == "Let me check that for you."  # what was said stays in the history
    assert follow_up[-1]["tool_call_id"] == follow_up[-2]["tool_calls"][0]["id"]


async def test_a_call_split_across_chunks_is_put_back_together(peer: ChatPeer) -> None:
    arguments = {"phone": "<PHONE_1>", "name": "a buyer looking for two bedrooms near the lake"}
    peer.reply = _script([Call("capture_lead", arguments)], "Thanks, saved.")
    box = LocalToolBox([LEAD])
    vault = Vault()
    heard = await _listen(peer, box, f"I'm interested, call me on {PHONE}", vault=vault)

    assert len(json.dumps(arguments)) > 5 * 6  # the peer sent the arguments in many pieces
    assert box.received == [("capture_lead", {**arguments, "phone": "+919876543210"})]
    assert heard.reports[0][0].arguments == json.dumps(arguments)  # as the model wrote them (minimized)
    assert peer.rejected == []  # the call came back with its id, name and arguments intact
    assert heard.sentences == ["Thanks, saved."]


async def test_two_calls_in_one_step_run_in_order_and_are_answered_by_their_ids(peer: ChatPeer) -> None:
    peer.reply = _script(
        [Call("book_visit", {"day": "Monday"}), Call("book_visit", {"day": "Tuesday"})],
        "Both visits are booked.",
    )
    box = LocalToolBox([BOOK])
    heard = await _listen(peer, box, "Monday and Tuesday please")

    assert box.received == [("book_visit", {"day": "Monday"}), ("book_visit", {"day": "Tuesday"})]
    assert [len(r) for r in heard.reports] == [2]  # one report per step
    messages = peer.requests[1]["messages"]
    ids = [c["id"] for c in messages[-3]["tool_calls"]]
    assert [m["tool_call_id"] for m in messages[-2:]] == ids
    assert len(set(ids)) == 2
    assert heard.sentences == ["Both visits are booked."]


async def test_the_last_step_forbids_calls(peer: ChatPeer) -> None:
    peer.reply = lambda _: ["One moment.", Call("book_visit", {})]  # a model that never stops calling
    box = LocalToolBox([BOOK])
    heard = await _listen(peer, box, "book", max_steps=3)

    assert [r.get("tool_choice") for r in peer.requests] == ["auto", "auto", "none"]
    assert len(box.received) == 2
    assert heard.sentences == ["One moment. "] * 2 + ["One moment."]  # the last answer is text only


async def test_a_model_calling_tools_to_the_end_is_an_empty_reply(peer: ChatPeer) -> None:
    peer.reply = lambda _: [Call("book_visit", {})]
    with pytest.raises(LLMError) as err:
        await _listen(peer, LocalToolBox([BOOK]), "book", max_steps=2)
    assert err.value.failure is LLMFailure.EMPTY
    assert [r.get("tool_choice") for r in peer.requests] == ["auto", "none"]


async def test_schema_invalid_arguments_go_back_to_the_model_as_an_error(peer: ChatPeer) -> None:
    peer.reply = _script([Call("capture_lead", {"name": "Priya"})], "Could you give me your number?")
    box = LocalToolBox([LEAD])
    heard = await _listen(peer, box, "save me")

    assert box.received == []
    assert not heard.reports[0][0].ok
    error = json.loads(peer.requests[1]["messages"][-1]["content"])["error"]
    assert "required" in error
    assert "Priya" not in error
    assert heard.sentences == ["Could you give me your number?"]


async def test_an_endpoint_failing_mid_stream_is_a_typed_error_after_what_was_said(peer: ChatPeer) -> None:
    peer.reply = lambda _: "We are open until seven. Parking is free on weekends."
    peer.break_after = 7  # seven words in: the first sentence and two words of the second
    heard = Listener()
    with pytest.raises(LLMError) as err:
        await _listen(peer, LocalToolBox([BOOK]), "hours?", listener=heard)
    assert err.value.failure is LLMFailure.STATUS
    assert heard.sentences == ["We are open until seven. "]
    assert len(peer.bodies) == 1  # not mistaken for an endpoint without tools: nothing is said twice


async def test_no_raw_personal_data_reaches_the_model_in_any_request(peer: ChatPeer) -> None:
    peer.forbidden = [PHONE, EMAIL, "+919876543210", "98765 43210"]
    peer.reply = _script(
        ["Saving your details.", Call("capture_lead", {"phone": "<PHONE_1>", "email": "<EMAIL_1>"})],
        "Saved. We will call <PHONE_1>.",
    )
    box = LocalToolBox([LEAD])  # echoes the real values it received back into the tool result
    heard = await _listen(peer, box, f"call me on {PHONE} or mail {EMAIL}")

    assert box.received == [("capture_lead", {"phone": "+919876543210", "email": EMAIL})]
    assert len(peer.bodies) == 2
    assert peer.leaks == []
    assert peer.rejected == []
    assert "<PHONE_1>" in peer.requests[1]["messages"][-1]["content"]
    assert heard.sentences[-1] == "We will call <PHONE_1>."  # restored later, by whoever speaks it


async def test_the_first_sentence_comes_before_the_model_has_finished(peer: ChatPeer) -> None:
    peer.token_delay_s = 0.05
    peer.reply = _script(
        ["Let me look.", Call("book_visit", {"day": "Friday"})],
        "Friday works. I have booked it for ten in the morning.",
    )
    box = LocalToolBox([BOOK])
    finished_then: list[int] = []
    received_then: list[int] = []
    async with AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0) as client:
        loop = Automation(Responder(client, "m", timeout_s=5), pii_guard())
        vault = Vault()
        async for _ in loop.stream(_prompt(Minimizer(), vault, "Friday?"), box, vault, POLICY):
            finished_then.append(peer.streams_finished)
            received_then.append(len(box.received))
    # "Let me look." is out as soon as the model starts writing the call; "Friday works." while the
    # follow-up is still being written.
    assert finished_then[:2] == [0, 1]
    assert received_then == [0, 1, 1]
    assert peer.streams_finished == 2


async def test_an_endpoint_without_tools_still_answers_streamed(peer: ChatPeer) -> None:
    peer.tools_supported = False
    peer.reply = lambda _: "We are open from 9 to 7."
    heard = await _listen(peer, LocalToolBox([BOOK]), "hours?")
    assert heard.sentences == ["We are open from 9 to 7."]
    assert "tools" in peer.requests[0]
    assert "tools" not in peer.requests[1]
    assert peer.requests[1]["stream"] is True


async def test_without_a_toolbox_the_reply_is_streamed_without_tools(peer: ChatPeer) -> None:
    peer.reply = lambda _: "Hello! How can I help?"
    heard = await _listen(peer, None, "hi")
    assert heard.sentences == ["Hello! ", "How can I help?"]
    assert heard.reports == []
    assert "tools" not in peer.requests[0]
