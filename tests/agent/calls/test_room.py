"""The LiveKit room entrypoint. A LiveKit server (and so a real room, a SIP participant or LiveKit's WhatsApp
connector) cannot run here. What can: the room worker's own process set-up (`RoomCalls.build`, its `prewarm`,
against the real redis-server, the real models and the local LLM peer), the room's tenant and caller taken
from room metadata and participant attributes, and a room call answered by `RoomCalls.answer` as in a room,
except that the caller's audio comes through the aiortc bridge of the WhatsApp call tests instead of the
room's tracks, and the hang-up (deleting the room) is observed instead of performed."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from agent.calls.assembly import CallOutcome
from agent.calls.bridge import AgentAudioTrack, CallAudioInput, CallAudioOutput
from agent.calls.room import RoomCalls, caller_id, prewarm, room_tenant
from agent.calls.webrtc import CallPeer
from agent.messages.queue import QueueConfig
from agent.privacy.assembly import Privacy
from agent.settings import RuntimeConfigError, Settings
from agent.storage.conversations import ConversationStore
from agent.storage.handoff import HandoffFlags
from agent.storage.keyring import Keyring, master_secret
from agent.tenants.registry import TenantRegistry
from pipelines.consent import Method, Purpose
from tests.agent.calls import test_call_tools as tools_call
from tests.agent.calls.caller import Caller, to_call_rate
from tests.agent.calls.hearing import Ears, sounds_like
from tests.agent.calls.stack import CALLER
from tests.agent.stack import MASTER, PEERS, settings
from tests.llm_peer import serve_chat_peer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from livekit.agents import AgentSession
    from redis.asyncio import Redis

    from agent.calls.agent import CallAgent
    from pipelines.stt import WhisperTranscriber
    from pipelines.tts import PiperSynthesizer
    from tests.agent.tenant_peer import TenantPeer
    from tests.redis_server import RedisServer

TENANT = tools_call.TENANT  # the shipped tenant with tools on, its CRM on the local tenant peer
crm, prompts = tools_call.crm, tools_call.prompts  # the same fixtures as the WhatsApp tools call
CALLER_ATTRIBUTES = Settings.model_fields["calls_caller_attributes"].default
OLD_MASTER, NEW_MASTER = "room-old-master-key-0123456789", "room-new-master-key-9876543210"


def bridged(caller: Caller, peer: CallPeer) -> Callable[[CallAgent, AgentSession[None]], Awaitable[None]]:
    """Stands in for `session.start(agent, room=…)`: the same session, its audio over WebRTC."""
    output = CallAudioOutput()
    track = AgentAudioTrack(output)

    async def connect(agent: CallAgent, session: AgentSession[None]) -> None:
        answer = await peer.answer(await caller.offer(), track)
        await caller.answer_with(answer)
        await peer.connected()
        track.open()
        session.input.audio = CallAudioInput(await peer.remote_audio())
        session.output.audio = output
        await session.start(agent, record=False)

    return connect


@pytest.mark.parametrize(
    ("metadata", "tenant"),
    [
        ('{"tenant": "acme"}', "acme"),
        (None, "default"),
        ("", "default"),
        ("not json", "default"),
        ("[1]", "default"),
    ],
)
def test_the_tenant_comes_from_the_room_metadata(metadata: str | None, tenant: str) -> None:
    assert room_tenant(metadata) == tenant


@pytest.mark.parametrize(
    ("attributes", "caller"),
    [
        ({"sip.phoneNumber": "+919876543210"}, "919876543210"),  # LiveKit SIP's E.164 number
        ({"sip.phoneNumber": "+91 98765-43210"}, "919876543210"),
        ({"sip.phoneNumber": "+1 (555) 000-1111"}, "15550001111"),
        ({"leadclose.caller": "919876543210"}, "919876543210"),  # set when accepting a connector call
        ({"sip.phoneNumber": "+15550001111", "leadclose.caller": "919876543210"}, "15550001111"),  # in order
        ({"sip.phoneNumber": "anonymous", "leadclose.caller": "919876543210"}, "919876543210"),
        ({"sip.phoneNumber": "sip:alice@example.com"}, ""),
        ({"sip.phoneNumber": "+٩١٩٨٧٦٥٤٣٢١٠"}, ""),  # digits, but not ASCII ones
        ({"sip.phoneNumber": "1234567890123456"}, ""),  # longer than E.164 allows
        ({"sip.callID": "SCL_1"}, ""),
        ({}, ""),
    ],
)
def test_the_caller_is_the_first_attribute_holding_a_phone_number(
    attributes: dict[str, str], caller: str
) -> None:
    assert caller_id(attributes, CALLER_ATTRIBUTES) == caller


def test_the_room_worker_refuses_to_start_without_an_llm_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADCLOSE_LLM_BASE_URL", raising=False)
    with pytest.raises(RuntimeConfigError, match="LEADCLOSE_LLM_BASE_URL"):
        prewarm(None)  # type: ignore[arg-type]  # refused before the process is touched


async def test_a_room_caller_gets_the_same_call_with_their_consent_ledger_and_the_tenants_tools(
    redis: Redis,
    redis_server: RedisServer,
    synthesizer: PiperSynthesizer,
    transcriber: WhisperTranscriber,
    prompts: Path,
    crm: TenantPeer,
) -> None:
    """The caller is known by the SIP participant's number: the disclosure goes to their consent ledger with
    the SIP call id as evidence, the tenant's handoff tool runs for their conversation (the CRM is told, the
    handoff flag is set), the call ends after the reply and the caller is hung up; the call record follows."""
    said = await synthesizer.synthesize("Can I speak with someone from your team about a flat?")
    with serve_chat_peer(tools_call.model) as llm:
        llm.forbidden = [CALLER]
        config = settings(redis_server.url, prompts, llm_base_url=llm.base_url, llm_model="test-model")
        calls = RoomCalls.build(config)  # the room worker's prewarm (blocking, on the main thread as there)
        call = await calls.context(
            json.dumps({"tenant": TENANT}),
            {"sip.phoneNumber": "+91 98765 43210", "sip.callID": "SCL_r1"},
            "SCL_r1",
        )
        assert (call.tenant, call.user_key) == (TENANT, CALLER)
        caller, peer = Caller(ears=Ears(transcriber)), CallPeer()
        hung_up = asyncio.Event()

        async def hang_up() -> None:
            hung_up.set()

        try:
            answered = asyncio.create_task(calls.answer(call, bridged(caller, peer), hang_up))
            await caller.wait_quiet()
            assert "assistant" in caller.hear()
            spoke_until = await caller.say(to_call_rate(said))
            assert await asyncio.wait_for(answered, 60) is CallOutcome.AGENT_ENDED
            heard = caller.hear(spoke_until)
            assert sounds_like(heard, "call you back")
        finally:
            await peer.close()
            await caller.hang_up()
            await calls.aclose()  # the process's services (Redis, HTTP) end with the room worker
        assert hung_up.is_set()
        assert [r for r in llm.requests if r.get("tools")]  # the tenant's tools were offered
        assert llm.leaks == []
    assert len(crm.events("handoff.requested")) == 1
    keyring, shards = Keyring(master_secret(MASTER)), QueueConfig().shards
    conv = keyring.conversation_ref(TENANT, CALLER)
    assert await HandoffFlags(redis, shards=shards).active(conv)
    store = ConversationStore(redis, keyring, shards=shards)
    privacy = Privacy.build(redis, store, keyring, TenantRegistry.load(prompts, egress=PEERS), shards=shards)
    disclosed = [e for e in await privacy.consent.events_of(conv) if e["method"] == "disclosure"]
    assert disclosed
    assert {e["evidence"] for e in disclosed} == {"SCL_r1"}
    (record,) = [r for r in await privacy.processing.records(TENANT, conv) if r["event"] == "call"]
    assert record["outcome"] == "agent_ended"
    assert record["counts"]["user_turns"] == 1


async def test_a_room_caller_without_a_number_is_answered_without_a_ledger_or_tools(
    redis_server: RedisServer, prompts: Path
) -> None:
    """A withheld number: the tenant's brain, but no consent ledger and no tools bound to anyone (the agent
    still answers with the disclosure); the log says so without any number. The LLM is never asked here."""
    config = settings(redis_server.url, prompts, llm_base_url="http://127.0.0.1:9/v1")
    calls = RoomCalls.build(config)
    try:
        with capture_logs() as logs:
            call = await calls.context(
                json.dumps({"tenant": TENANT}),
                {"sip.phoneNumber": "anonymous", "sip.callID": "SCL_a"},
                "SCL_a",
            )
    finally:
        await calls.aclose()
    assert (call.tenant, call.user_key, call.consent, call.tools) == (TENANT, "", None, None)
    assert "the ai assistant of" in call.brain.texts.greeting.lower()
    (logged,) = [e for e in logs if e["event"] == "call.anonymous_caller"]
    assert (logged["call"], logged["ledger"], logged["tools"]) == ("SCL_a", False, False)


async def test_a_stop_given_in_chat_under_the_bsuid_holds_for_a_room_call_from_the_number(
    redis: Redis,
    redis_server: RedisServer,
    synthesizer: PiperSynthesizer,
    transcriber: WhisperTranscriber,
    prompts: Path,
    crm: TenantPeer,
) -> None:
    """The person wrote in chat with their BSUID and number (one subject, under an earlier master key) and
    said STOP there. Their room call, from the number, to a room worker on the rotated master key, is the
    same person: they hear the way back instead of the greeting, the LLM is never asked, and no disclosure
    is recorded; saying anything but "start" ends it. (The number alone, under the current key, would
    derive to another subject, with no STOP.)"""
    old = Keyring(master_secret(OLD_MASTER))
    store = ConversationStore(redis, old, shards=QueueConfig().shards)
    tenants = TenantRegistry.load(prompts, egress=PEERS)
    chat = Privacy.build(redis, store, old, tenants, shards=QueueConfig().shards)
    subject = await chat.identities.subject(TENANT, "IN.0f1e2d3c4b5a6978", CALLER)  # a payload with both
    stop = chat.gate.keywords.match(TENANT, "STOP")
    assert stop is not None
    await chat.gate.answer_keyword(TENANT, subject, stop, "wamid.stop", Method.KEYWORD)
    said = await synthesizer.synthesize("When does your office open tomorrow?")
    with serve_chat_peer(tools_call.model) as llm:
        config = settings(
            redis_server.url,
            prompts,
            llm_base_url=llm.base_url,
            llm_model="test-model",
            master_key=NEW_MASTER,
            master_key_previous=(OLD_MASTER,),
        )
        calls = RoomCalls.build(config)
        call = await calls.context(
            json.dumps({"tenant": TENANT}), {"sip.phoneNumber": "+91 98765 43210"}, "SCL_s1"
        )
        assert call.consent is not None
        assert Keyring(master_secret(NEW_MASTER)).conversation_ref(TENANT, CALLER) != subject
        caller, peer = Caller(ears=Ears(transcriber)), CallPeer()

        async def hang_up() -> None:
            pass

        try:
            answered = asyncio.create_task(calls.answer(call, bridged(caller, peer), hang_up))
            await caller.wait_quiet()
            offered = caller.hear()
            assert sounds_like(offered, "say start")
            await caller.say(to_call_rate(said))
            assert await asyncio.wait_for(answered, 60) is CallOutcome.AGENT_ENDED
        finally:
            await peer.close()
            await caller.hang_up()
            await calls.aclose()  # the process's services (Redis, HTTP) end with the room worker
        assert llm.requests == []
    events = await chat.consent.events_of(subject)
    assert [e for e in events if e["method"] == "keyword"]  # control: the STOP is this subject's
    assert not [e for e in events if e["method"] == "disclosure"]
    assert not await chat.gate.may(TENANT, subject, Purpose.REPLY)
