"""A caller who stopped us earlier gets a deterministic way back. End to end on loopback as in
test_call_consent.py (real redis-server, real models, the local Graph and LLM peers, an aiortc caller speaking
Piper speech): a STOP sent in chat is in the ledger; the call opens with a fixed line instead of the greeting;
"start" goes to the ledger first and then the normal call begins; anything else ends the call with nothing
stored but what the ledger already had. An objection, a restriction or a pending erasure is not lifted by "start"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from agent.consent_store import Context
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
from tests.agent.calls.caller import Caller, to_call_rate, to_whisper
from tests.agent.calls.hearing import sounds_like
from tests.agent.calls.stack import call_stack, subject
from tests.agent.stack import eventually

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from agent.calls.models import CallModels
    from pipelines.stt import WhisperTranscriber
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


async def _call_records(stack: CallStack) -> list[dict[str, Any]]:
    return [r for r in await stack.privacy.processing.records("default", subject()) if r["event"] == "call"]


async def test_an_opted_out_caller_who_says_start_is_in_the_ledger_first_and_then_gets_the_normal_call(
    redis: Redis,
    redis_server: RedisServer,
    call_models: CallModels,
    synthesizer: PiperSynthesizer,
    transcriber: WhisperTranscriber,
) -> None:
    start = await synthesizer.synthesize("Start.")
    question = await synthesizer.synthesize("When does your shop open tomorrow?")
    async with call_stack(redis, redis_server.url, call_models) as stack:
        await _stopped_in_chat(stack)
        caller = Caller()
        await stack.ring(caller, "wacid.back")
        await caller.wait_quiet()
        offered = transcriber.transcribe(to_whisper(caller.audio_between(0))).text.lower()
        assert sounds_like(offered, "if you want to talk with us now say start")
        assert "assistant" not in offered  # no disclosure and no AI before the caller chose

        spoke_until = await caller.say(to_call_rate(start))
        await eventually(lambda: caller.first_speech_after(spoke_until) is not None, 20)
        await caller.wait_quiet()
        greeted = transcriber.transcribe(to_whisper(caller.audio_between(spoke_until))).text.lower()
        assert "assistant" in greeted
        assert stack.llm.bodies == []  # the keyword never reached the LLM
        *_, opted_in = await _reply_events(stack)
        assert (opted_in["state"], opted_in["method"]) == ("granted", "voice")
        assert opted_in["evidence"].startswith("wacid.back:")
        assert await stack.privacy.gate.may("default", subject(), Purpose.REPLY)

        spoke_until = await caller.say(to_call_rate(question))
        await eventually(lambda: caller.first_speech_after(spoke_until) is not None, 20)
        await caller.wait_quiet()
        answered = transcriber.transcribe(to_whisper(caller.audio_between(spoke_until))).text.lower()
        assert sounds_like(answered, "you said")  # the LLM peer echoes: the conversation is the normal one
        assert len(stack.llm.bodies) == 1
        await stack.hang_up(caller, "wacid.back")
        await eventually(lambda: _has_call_record(stack), 20)
        (record,) = await _call_records(stack)
        assert (record["outcome"], record["counts"]["content_kept"]) == ("caller_hung_up", 1)


async def test_an_opted_out_caller_who_says_anything_else_hears_goodbye_and_nothing_is_stored(
    redis: Redis,
    redis_server: RedisServer,
    call_models: CallModels,
    synthesizer: PiperSynthesizer,
    transcriber: WhisperTranscriber,
) -> None:
    """No LLM, no disclosure, no transcript (retention is granted, yet the call's words are not kept), and the
    ledger keeps the STOP; the T0 call record is content-free."""
    said = await synthesizer.synthesize("Hello, can you hear me?")
    async with call_stack(redis, redis_server.url, call_models) as stack:
        await _stopped_in_chat(stack)
        events_before = await _reply_events(stack)
        caller = Caller()
        await stack.ring(caller, "wacid.nope")
        await caller.wait_quiet()
        spoke_until = await caller.say(to_call_rate(said))
        await eventually(lambda: stack.outcomes().get("agent_ended") == 1, 60)
        heard = transcriber.transcribe(to_whisper(caller.audio_between(spoke_until))).text.lower()
        assert sounds_like(heard, "thank you for calling goodbye")
        assert stack.llm.bodies == []
        assert stack.graph.actions_of("wacid.nope") == ["pre_accept", "accept", "terminate"]
        await eventually(lambda: _has_call_record(stack), 20)
        assert await _reply_events(stack) == events_before
        assert not await stack.privacy.gate.may("default", subject(), Purpose.REPLY)
        assert await stack.privacy.content.count(subject()) == 0
        (record,) = await _call_records(stack)
        assert record["outcome"] == "agent_ended"
        assert record["counts"]["user_turns"] == 0
        await caller.hang_up()


async def _has_call_record(stack: CallStack) -> bool:
    return bool(await _call_records(stack))
