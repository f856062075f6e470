"""Consent on a call, end to end on loopback (real redis-server, real models, the local Graph and LLM peers, an
aiortc caller): the transcript follows the consent-aware log tiers, "delete my data" said on a call leads to the
same erasure as in chat, and a caller whose consent state forbids replies is not answered by the AI."""

from __future__ import annotations

import base64
import json
import shutil
from typing import TYPE_CHECKING, Any

import pytest

from agent.privacy.ledger import Context
from agent.privacy.rights import Actor
from pipelines.audio import decode
from pipelines.consent import Method, Purpose, State, Transition
from tests.agent.calls.caller import to_call_rate
from tests.agent.calls.hearing import sounds_like
from tests.agent.calls.stack import call_stack, subject
from tests.agent.stack import eventually
from tests.conftest import ROOT
from tests.ears import heard

if TYPE_CHECKING:
    from pathlib import Path

    from redis.asyncio import Redis

    from agent.calls.loaded import CallModels
    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.redis_server import RedisServer

GRANT = Context(method=Method.TENANT_API, channel="admin_api", actor="tenant:default", config_version="t")


async def test_with_retention_granted_the_calls_words_are_kept_sealed_in_t2_and_t0_has_a_content_free_record(
    redis: Redis,
    redis_server: RedisServer,
    call_models: CallModels,
    synthesizer: PiperSynthesizer,
) -> None:
    said = await synthesizer.synthesize("When does your shop open tomorrow?")
    async with call_stack(redis, redis_server.url, call_models) as stack:
        await stack.privacy.consent.apply(
            subject(), Transition({Purpose.RETAIN_CONTENT: State.GRANTED}), GRANT
        )
        async with stack.call("wacid.keep") as caller:
            await caller.wait_quiet()
            await caller.turn(to_call_rate(said))
        await eventually(lambda: stack.outcomes().get("caller_hung_up") == 1, 20)
        record = await stack.call_record()

        entries = await stack.privacy.content.entries(subject())
        kinds = [e.kind for e in entries]
        assert kinds[0] == "reply"
        assert "assistant" in entries[0].text.lower()
        assert "transcript" in kinds
        heard = next(e.text for e in entries if e.kind == "transcript").lower()
        assert "shop" in heard
        assert "open" in heard
        assert any(e.kind == "reply" and "you said" in e.text.lower() for e in entries)
        assert {e.message.split(":")[0] for e in entries} == {"wacid.keep"}
        raw: list[Any] = await redis.zrange(stack.privacy.content.key(subject()), 0, -1)
        assert not any(b"shop" in r for r in raw)  # sealed with the subject's data key

        assert record["outcome"] == "caller_hung_up"
        assert record["counts"] == {"user_turns": 1, "agent_turns": 2, "content_kept": 1, "recorded": 0}
        assert {"duration", "first_audio_max", "first_audio_mean"} <= set(record["timings_ms"])
        assert "shop" not in json.dumps(record)


async def test_the_transcript_of_a_call_with_a_delete_request_is_not_kept_and_the_erasure_follows(
    redis: Redis, redis_server: RedisServer, call_models: CallModels, synthesizer: PiperSynthesizer
) -> None:
    """Retention was granted and content from an earlier chat exists; "delete my data" said on the call puts
    the erasure in the ledger (pending, as a chat keyword does), the call's own words are not kept, and the
    retention sweep that carries out chat erasures erases this caller too."""
    said = await synthesizer.synthesize("Delete my data.")
    async with call_stack(redis, redis_server.url, call_models) as stack:
        privacy = stack.privacy
        await privacy.consent.apply(subject(), Transition({Purpose.RETAIN_CONTENT: State.GRANTED}), GRANT)
        assert await privacy.gate.retain(
            "default", subject(), [("message", "my address is 12 Park Road", "m1")]
        )
        async with stack.call("wacid.erase") as caller:
            await caller.wait_quiet()
            assert sounds_like((await stack.final_answer(caller, to_call_rate(said))).text, "erase it")
        assert stack.llm.bodies == []
        record = await stack.call_record()

        assert await privacy.consent.pending_erasures("default") == [subject()]
        assert await privacy.content.count(subject()) == 1  # only the chat message: nothing of the call
        assert (record["outcome"], record["counts"]["content_kept"]) == ("agent_ended", 0)
        requests = [r.body["action"] for r in await privacy.rights.audit.records("default")]
        assert "request_erasure" in requests

        purge = await privacy.retention.sweep("default")
        assert purge.erasures == 1
        assert await privacy.consent.pending_erasures("default") == []
        assert await privacy.content.count(subject()) == 0


async def test_a_caller_who_objected_hears_a_fixed_message_and_the_call_ends_without_the_ai(
    redis: Redis, redis_server: RedisServer, call_models: CallModels, synthesizer: PiperSynthesizer
) -> None:
    """An objection (as a restriction or a pending erasure would) forbids `reply`: no disclosure, no LLM, a
    short fixed message, then `terminate`; what the caller says meanwhile is not answered."""
    said = await synthesizer.synthesize("Hello, can you hear me?")
    async with call_stack(redis, redis_server.url, call_models) as stack:
        privacy = stack.privacy
        await privacy.rights.object(subject(), Actor("tenant:default", "admin_api"))
        assert not await privacy.gate.may("default", subject(), Purpose.REPLY)
        async with stack.call("wacid.objected") as caller:
            await caller.say(to_call_rate(said))
            await eventually(lambda: stack.outcomes().get("agent_ended") == 1, 60)
            heard = caller.hear()
        assert sounds_like(heard, "can't take your call")
        assert "assistant" not in heard
        assert stack.llm.bodies == []
        assert stack.graph.actions_of("wacid.objected") == ["pre_accept", "accept", "terminate"]


@pytest.fixture
def recording_tenant(tmp_path: Path) -> Path:
    """The shipped default tenant, set to record calls."""
    folder = tmp_path / "prompts" / "default"
    shutil.copytree(ROOT / "prompts" / "default", folder)
    config = folder / "tenant.yaml"
    text = config.read_text()
    assert "record_calls: false" in text
    config.write_text(text.replace("record_calls: false", "record_calls: true"))
    return folder.parent


@pytest.mark.parametrize(("answer", "granted", "confirmation"), [("Yes.", True, "is recorded"),
                                                                 ("No.", False, "not recorded")])  # fmt: skip
async def test_a_recording_tenant_asks_after_the_disclosure_and_the_answer_is_in_the_ledger(
    redis: Redis,
    redis_server: RedisServer,
    call_models: CallModels,
    synthesizer: PiperSynthesizer,
    transcriber: WhisperTranscriber,
    recording_tenant: Path,
    answer: str,
    granted: bool,
    confirmation: str,
) -> None:
    """The recording question follows the AI disclosure; the yes or no is decided on the words (never by the
    LLM), confirmed with a fixed text and recorded as a `call_recording` ledger event with the call id. After a
    yes both sides of the rest of the call are kept (sealed Opus in T2); after a no nothing is."""
    said = await synthesizer.synthesize(answer)
    question = await synthesizer.synthesize("When does your shop open tomorrow?")
    async with call_stack(
        redis, redis_server.url, call_models, prompts_dir=recording_tenant, reply=lambda _: "We open at nine."
    ) as stack:
        async with stack.call("wacid.rec") as caller:
            await caller.wait_quiet()
            asked = caller.hear()
            assert asked.index("assistant") < asked.index("record this call")
            assert not await stack.privacy.gate.may("default", subject(), Purpose.CALL_RECORDING)
            reply = await caller.turn(to_call_rate(said))
            assert sounds_like(reply.text, confirmation)
            assert stack.llm.bodies == []
            events = await stack.privacy.consent.events_of(subject())
            (event,) = [e for e in events if e["purpose"] == "call_recording"]
            assert (event["state"], event["method"]) == ("granted" if granted else "denied", "voice")
            assert event["evidence"].startswith("wacid.rec:")
            assert bool(await stack.privacy.gate.may("default", subject(), Purpose.CALL_RECORDING)) is granted
            await caller.turn(to_call_rate(question))
        record = await stack.call_record()
        assert record["counts"]["recorded"] == int(granted)
        kept = [e for e in await stack.privacy.content.entries(subject()) if e.kind == "recording"]
        if not granted:
            assert kept == []
            return
        (recording,) = kept
        assert recording.message == "wacid.rec"
        played = heard(transcriber, decode(base64.b64decode(recording.text))).lower()
        assert "this call is recorded" in played  # the agent's side
        assert "shop" in played  # the caller's side
        assert "record this call" not in played  # nothing from before the yes
