"""A caller who stopped us earlier gets a deterministic way back. End to end on loopback as in
test_call_consent.py (real redis-server, real models, the local Graph and LLM peers, an aiortc caller speaking
Piper speech): a STOP sent in chat is in the ledger; the call opens with a fixed line instead of the greeting;
"start" goes to the ledger first and then the normal call begins; anything else ends the call with nothing
stored but what the ledger already had. An objection, a restriction or a pending erasure is not lifted by "start"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from agent.calls.call import CallConfig
from agent.privacy.ledger import Context
from pipelines.consent import (
    Decision,
    Intent,
    KeywordMatch,
    Method,
    Overlay,
    Policy,
    Purpose,
    State,
    SubjectConsent,
    Transition,
    lifted_by_opt_in,
    may,
)
from tests.agent.calls.caller import to_call_rate
from tests.agent.calls.hearing import sounds_like
from tests.agent.calls.stack import call_stack, subject
from tests.agent.stack import eventually

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from agent.calls.loaded import CallModels
    from pipelines.tts import PiperSynthesizer
    from tests.agent.calls.stack import CallStack
    from tests.redis_server import RedisServer

GRANT = Context(method=Method.TENANT_API, channel="admin_api", actor="tenant:default", config_version="t")
STOPPED_IN_CHAT = KeywordMatch(Intent.OPT_OUT, "en")


@pytest.mark.parametrize(
    ("consent", "lifted"),
    [
        (SubjectConsent({Purpose.REPLY: State.WITHDRAWN}), True),  # STOP
        (SubjectConsent({Purpose.REPLY: State.DENIED}), True),
        (SubjectConsent({Purpose.REPLY: State.WITHDRAWN}, frozenset({Overlay.OBJECTED})), False),
        (SubjectConsent({}, frozenset({Overlay.RESTRICTED})), False),
        (SubjectConsent({}, frozenset({Overlay.ERASURE_PENDING})), False),
        (SubjectConsent({Purpose.REPLY: State.NOTICED}), False),  # allowed: nothing to lift
    ],
)
def test_only_a_stop_is_lifted_by_start(consent: SubjectConsent, lifted: bool) -> None:
    assert lifted_by_opt_in(may(consent, Purpose.REPLY, Policy())) is lifted
    assert not lifted_by_opt_in(Decision(False, "tenant_frozen"))


async def _stopped_in_chat(stack: CallStack) -> None:
    """The person sent STOP in chat earlier and granted retention, so a kept transcript would show."""
    privacy = stack.privacy
    await privacy.consent.apply(subject(), Transition({Purpose.RETAIN_CONTENT: State.GRANTED}), GRANT)
    await privacy.gate.answer_keyword("default", subject(), STOPPED_IN_CHAT, "wamid.stop", Method.KEYWORD)
    decision = await privacy.gate.may("default", subject(), Purpose.REPLY)
    assert (decision.allowed, decision.reason) == (False, "withdrawn")


async def _reply_events(stack: CallStack) -> list[dict[str, Any]]:
    return [e for e in await stack.privacy.consent.events_of(subject()) if e["purpose"] == "reply"]


async def test_an_opted_out_caller_who_says_start_is_in_the_ledger_first_and_then_gets_the_normal_call(
    redis: Redis, redis_server: RedisServer, call_models: CallModels, synthesizer: PiperSynthesizer
) -> None:
    start = await synthesizer.synthesize("Start.")
    question = await synthesizer.synthesize("When does your shop open tomorrow?")
    async with call_stack(redis, redis_server.url, call_models) as stack:
        await _stopped_in_chat(stack)
        async with stack.call("wacid.back") as caller:
            await caller.wait_quiet()
            offered = caller.hear()
            assert sounds_like(offered, "if you want to talk with us now say start")
            assert "assistant" not in offered  # no disclosure and no AI before the caller chose

            greeted = await caller.turn(to_call_rate(start))
            assert "assistant" in greeted.text
            assert stack.llm.bodies == []  # the keyword never reached the LLM
            *_, opted_in = await _reply_events(stack)
            assert (opted_in["state"], opted_in["method"]) == ("granted", "voice")
            assert opted_in["evidence"].startswith("wacid.back:")
            assert await stack.privacy.gate.may("default", subject(), Purpose.REPLY)

            answered = await caller.turn(to_call_rate(question))
            # The LLM peer echoes the question: the conversation is the normal one (judged by the question's
            # words; the ear hears the echo's "you said" as "he said" now and then).
            assert sounds_like(answered.text, "when does your shop open tomorrow")
            assert len(stack.llm.bodies) == 1
        record = await stack.call_record()
        assert (record["outcome"], record["counts"]["content_kept"]) == ("caller_hung_up", 1)


async def test_an_opted_out_caller_who_says_anything_else_hears_goodbye_and_nothing_is_stored(
    redis: Redis, redis_server: RedisServer, call_models: CallModels, synthesizer: PiperSynthesizer
) -> None:
    """No LLM, no disclosure, no transcript (retention is granted, yet the call's words are not kept), and the
    ledger keeps the STOP; the T0 call record is content-free."""
    said = await synthesizer.synthesize("Hello, can you hear me?")
    async with call_stack(redis, redis_server.url, call_models) as stack:
        await _stopped_in_chat(stack)
        events_before = await _reply_events(stack)
        async with stack.call("wacid.nope") as caller:
            await caller.wait_quiet()
            answer = await stack.final_answer(caller, to_call_rate(said))
        assert sounds_like(answer.text, "thank you for calling goodbye")
        assert stack.llm.bodies == []
        assert stack.graph.actions_of("wacid.nope") == ["pre_accept", "accept", "terminate"]
        record = await stack.call_record()
        assert await _reply_events(stack) == events_before
        assert not await stack.privacy.gate.may("default", subject(), Purpose.REPLY)
        assert await stack.privacy.content.count(subject()) == 0
        assert record["outcome"] == "agent_ended"
        assert record["counts"]["user_turns"] == 0


async def test_an_opted_out_caller_who_stays_silent_hears_goodbye_and_the_call_ends(
    redis: Redis, redis_server: RedisServer, call_models: CallModels
) -> None:
    """Silence after the way back counts as a no: the goodbye, then `terminate`; no LLM and nothing kept."""
    config = CallConfig(silence_timeout_s=3.0)
    async with call_stack(redis, redis_server.url, call_models, config=config) as stack:
        await _stopped_in_chat(stack)
        async with stack.call("wacid.silent") as caller:
            await eventually(lambda: stack.outcomes().get("caller_silent") == 1, 30)
            heard = caller.hear()
        assert sounds_like(heard, "say start")
        assert sounds_like(heard, "thank you for calling goodbye")
        assert stack.llm.bodies == []
        record = await stack.call_record()
        assert (record["outcome"], record["counts"]["user_turns"]) == ("caller_silent", 0)
        assert await stack.privacy.content.count(subject()) == 0
