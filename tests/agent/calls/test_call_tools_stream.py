"""A tenant with tools answers a call sentence by sentence: what the model says before a tool call is heard
while it is still writing, and the handoff still ends the call only after the reply it leads to.

The loopback call set-up of test_call.py (tests/agent/calls/stack.py) with the shipped real-estate tenant
(tools on) and its CRM as a local HTTP peer verifying the HMAC signature (tests/agent/tenant_peer.py, through
the fixtures of test_call_tools.py); the LLM is the local OpenAI-compatible peer (tests/llm_peer.py), which
streams text and tool calls as OpenAI does, paced at 50 ms a word like a model writing, and checks that the
calls come back as it made them, answered by their ids, without the caller's number."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.agent.calls.caller import to_call_rate
from tests.agent.calls.hearing import sounds_like
from tests.agent.calls.stack import call_stack
from tests.agent.calls.test_call_tools import NUMBER_ID, crm, prompts  # noqa: F401 (fixtures)
from tests.llm_peer import Call

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from redis.asyncio import Redis

    from agent.calls.loaded import CallModels
    from pipelines.tts import PiperSynthesizer
    from tests.agent.tenant_peer import TenantPeer
    from tests.redis_server import RedisServer

BEFORE = "Let me connect you with our team."
AFTER = (
    "Done. An agent from our team will call you back shortly about flats in Baner and Wakad. "
    "They can tell you about prices, parking, schools nearby, the maintenance charges and when you could "
    "visit the flats you like, on a weekday or at the weekend, whichever suits you better. Goodbye!"
)


def model(messages: list[dict[str, Any]]) -> str | Sequence[str | Call]:
    if messages[-1]["role"] == "tool":
        return AFTER
    return [BEFORE, Call("handoff_to_human", {"reason": "caller asked for an agent"})]


async def test_a_tenant_with_tools_is_heard_from_the_first_sentence_and_hands_off_after_the_reply(
    redis: Redis,
    redis_server: RedisServer,
    call_models: CallModels,
    synthesizer: PiperSynthesizer,
    prompts: Path,  # noqa: F811
    crm: TenantPeer,  # noqa: F811
) -> None:
    said = await synthesizer.synthesize("Can I speak with someone from your team about a flat?")
    async with call_stack(redis, redis_server.url, call_models, reply=model, prompts_dir=prompts) as stack:
        stack.llm.token_delay_s = 0.05
        stack.llm.forbidden = ["919876543210", "98765 43210"]  # the caller's number, known to the server
        async with stack.call("wacid.toolstream", NUMBER_ID) as caller:
            await caller.wait_quiet()
            answer = await stack.final_answer(caller, to_call_rate(said))
        assert stack.llm.streams_finished == 2
        assert answer.start < stack.llm.finished_at[-1]  # heard while the model was still writing the reply
        heard = answer.text
        assert sounds_like(heard, "connect you with our team")  # said before the tool call
        assert sounds_like(heard, "will call you back shortly")  # the reply the handoff led to
        assert sounds_like(heard, "whichever suits you better")  # spoken to its end before the call ended
        assert len(crm.events("handoff.requested")) == 1
        requests = stack.llm.requests
        assert [r["stream"] for r in requests] == [True, True]
        assert requests[0].get("tools")
        assert requests[1]["messages"][-1]["role"] == "tool"
        assert stack.llm.rejected == []  # calls answered by their ids, no raw number
        assert stack.llm.leaks == []
        assert stack.graph.actions_of("wacid.toolstream") == ["pre_accept", "accept", "terminate"]
