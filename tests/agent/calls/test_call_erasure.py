"""A caller erased during a live call (real redis-server): what the call would keep at its end (the
transcript, the recording) is not written, and its content-free record does not name the caller; the consent
records the call would still make (a keyword's change, the disclosure's notice, the recording answer) and
its tools (lead, booking, handoff, the tenant's webhook and HTTP tools) are refused by the call's erasure
fence, and the call ends. The call's audio plays no part here; the tools' far side is the tenant's CRM as a
local HTTP peer that checks signatures (tests/agent/tenant_peer.py), the model the local OpenAI-compatible
peer (tests/llm_peer.py)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from livekit.agents import llm
from openai import AsyncOpenAI

from agent.calls.assembly import CallContext, ConversationState, call_context
from agent.calls.consent import CallConsent, CallTranscript
from agent.calls.llm import AutomationLLM
from agent.egress import GuardedTransport
from agent.messages.queue import QueueConfig
from agent.privacy.assembly import Privacy
from agent.privacy.ledger import Context
from agent.privacy.rights import Actor
from agent.storage.conversations import ConversationStore
from agent.storage.erasure import ErasedError
from agent.storage.handoff import HandoffFlags
from agent.storage.keyring import Keyring, master_secret
from agent.storage.keys import conversation_key
from agent.storage.leads import LeadStore
from agent.tenants.registry import TenantRegistry
from agent.tools.conversation import EndpointCaller, ToolFactory
from pipelines.automation import Automation
from pipelines.consent import Method, Purpose, State, Transition
from pipelines.llm import Responder
from pipelines.pii import RestorePolicy, Vault
from tests.agent.calls import test_call_tools as tools_call
from tests.agent.calls.caller import to_call_rate
from tests.agent.calls.hearing import sounds_like
from tests.agent.calls.stack import call_stack
from tests.agent.calls.stack import subject as caller_subject
from tests.agent.stack import MASTER, PEERS, eventually
from tests.conftest import ROOT
from tests.llm_peer import Call, serve_chat_peer
from tests.pii_guard import pii_guard

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from redis.asyncio import Redis

    from agent.calls.loaded import CallModels
    from pipelines.automation import ToolBox
    from pipelines.tts import PiperSynthesizer
    from tests.agent.tenant_peer import TenantPeer
    from tests.redis_server import RedisServer

GRANT = Context(method=Method.TENANT_API, channel="admin_api", actor="tenant:default", config_version="t")
SHARDS = QueueConfig().shards
TENANT, CALLER = tools_call.TENANT, "919876543210"
crm, prompts = tools_call.crm, tools_call.prompts  # the tools tenant, its CRM on the local tenant peer


def _privacy(redis: Redis, tenants: TenantRegistry) -> Privacy:
    keyring = Keyring(master_secret(MASTER))
    return Privacy.build(
        redis, ConversationStore(redis, keyring, shards=SHARDS), keyring, tenants, shards=SHARDS
    )


async def _everything(redis: Redis) -> dict[str, Any]:
    """Every key and its contents (streams by length): what a refused write must leave as it was."""
    seen: dict[str, Any] = {}
    for key in sorted(await redis.keys("*")):
        kind = (await redis.type(key)).decode()
        seen[key.decode()] = {
            "hash": redis.hgetall,
            "string": redis.get,
            "stream": redis.xlen,
            "list": lambda k: redis.lrange(k, 0, -1),
            "zset": lambda k: redis.zrange(k, 0, -1),
            "set": redis.smembers,
        }[kind](key)
        seen[key.decode()] = await seen[key.decode()]
    return seen


async def test_a_caller_erased_during_the_call_leaves_nothing_when_it_ends(redis: Redis) -> None:
    keyring = Keyring(master_secret(MASTER))
    tenants = TenantRegistry.load(ROOT / "prompts")
    privacy = Privacy.build(redis, ConversationStore(redis, keyring, shards=8), keyring, tenants, shards=8)
    subject = privacy.subject("default", "919876543210")
    everything = Transition({Purpose.RETAIN_CONTENT: State.GRANTED, Purpose.CALL_RECORDING: State.GRANTED})
    tenant = tenants.get("default").config
    transcript = CallTranscript(turns=[("user", "my name is Priya"), ("assistant", "Hello Priya")])

    before = CallConsent(privacy.gate, tenant, subject, "wacid.ok")
    await privacy.consent.apply(subject, everything, GRANT)
    assert await before.may_reply()
    assert await before.ended(transcript, "caller_ended", 12.0)  # control: kept without an erasure
    assert await privacy.content.count(subject) == 2

    call = CallConsent(privacy.gate, tenant, subject, "wacid.erased")
    assert await call.may_reply()  # the call begins
    await privacy.rights.erase(subject, Actor("test", "cli"))
    await privacy.consent.apply(subject, everything, GRANT)  # even if consent were given again meanwhile
    assert not await call.recorded(b"OggS-audio")
    assert not await call.ended(transcript, "caller_ended", 30.0)
    assert await privacy.content.count(subject) == 0
    assert not await redis.exists(privacy.content.key(subject))
    rows = [r for r in await privacy.processing.records("default") if r["message"] and r["event"] == "call"]
    assert [r["subject"] for r in rows] == [
        None
    ]  # the erased call's record; the first one went with the erasure


async def test_a_caller_erased_during_the_call_gets_no_consent_state_back_from_it(redis: Redis) -> None:
    """After the erasure, the caller's "stop", the disclosure's notice and a yes to the recording question
    write nothing (no consent hash, no ledger event, no handoff): Redis is left exactly as the erasure left
    it, and the call is told to end. Control: the same call records for a caller who was not erased."""
    tenants = TenantRegistry.load(ROOT / "prompts")
    privacy, tenant = _privacy(redis, tenants), tenants.get("default").config
    stop = privacy.gate.keywords.match("default", "stop")
    assert stop is not None

    other = privacy.subject("default", "919800000001")
    control = CallConsent(privacy.gate, tenant, other, "wacid.control")
    assert await control.may_reply()
    await control.disclosed("Hello, I am the AI assistant.")
    assert await control.keyword(stop)
    assert not control.erased.is_set()
    assert {e["method"] for e in await privacy.consent.events_of(other)} == {"disclosure", "voice"}

    subject = privacy.subject("default", CALLER)
    await privacy.consent.apply(subject, Transition({Purpose.CALL_RECORDING: State.GRANTED}), GRANT)
    call = CallConsent(privacy.gate, tenant, subject, "wacid.erased")
    assert await call.may_reply()  # the call begins: its fence is taken
    await privacy.rights.erase(subject, Actor("test", "cli"))
    left, ledger = await _everything(redis), await privacy.consent.events_of(subject)
    assert not await redis.exists(conversation_key(subject, "consent", SHARDS))
    human = privacy.gate.keywords.match("default", "talk to a person")
    assert human is not None
    for said in (stop, human):
        assert not await call.keyword(said)
    await call.disclosed("Hello, I am the AI assistant.")
    assert not await call.recording(True)
    assert call.erased.is_set()
    assert await _everything(redis) == left
    assert await privacy.consent.events_of(subject) == ledger  # the grant and the erasure, nothing after


@dataclass(frozen=True)
class CallerTools:
    privacy: Privacy
    tenants: TenantRegistry
    state: ConversationState  # the call worker's, as `conversation_state` builds it

    async def toolbox(self, user: str, call_id: str) -> tuple[CallContext, ToolBox]:
        """A call's toolbox as `CallAssembly.session` binds it: to the fence of its first consent check."""
        call = call_context(self.tenants, self.state, TENANT, user, call_id)
        assert call.consent is not None
        assert call.tools is not None
        assert await call.consent.may_reply()
        toolbox = call.tools(await call.consent.fence())
        assert toolbox is not None
        return call, toolbox


@pytest.fixture
async def caller_tools(redis: Redis, prompts: Path) -> AsyncIterator[CallerTools]:
    tenants = TenantRegistry.load(prompts, egress=PEERS)
    privacy = _privacy(redis, tenants)
    async with EndpointCaller(GuardedTransport(PEERS)) as caller:
        factory = ToolFactory(
            redis=redis,
            leads=LeadStore(redis, privacy.store, shards=SHARDS),
            handoff=HandoffFlags(redis, shards=SHARDS),
            caller=caller,
            environ=os.environ,
        )
        state = ConversationState(privacy.keyring, factory, privacy.gate, privacy.identities)
        yield CallerTools(privacy, tenants, state)


def model(messages: list[dict[str, Any]]) -> str | list[str | Call]:
    if messages[-1]["role"] == "tool":
        return "Saved. Someone will call you."
    return ["Let me note that down.", Call("capture_lead", {"need": "3 BHK in Baner"})]


async def test_a_call_tools_write_and_notify_nothing_for_a_caller_erased_during_the_call(
    redis: Redis, caller_tools: CallerTools, crm: TenantPeer
) -> None:
    """Capture a lead, book a callback, hand off, the tenant's HTTP tool: each refuses (`ErasedError`)
    before writing or calling out. Control: a caller who was not erased gets their lead saved and sent."""
    privacy = caller_tools.privacy
    _, other = await caller_tools.toolbox("919800000001", "wacid.ok")
    assert json.loads(await other.call("capture_lead", {"need": "2 BHK in Baner"}))["saved"]
    assert len(crm.events("lead.captured")) == 1

    _, toolbox = await caller_tools.toolbox(CALLER, "wacid.gone")
    subject = privacy.subject(TENANT, CALLER)
    await privacy.rights.erase(subject, Actor("test", "cli"))
    left, received = await _everything(redis), len(crm.received)
    for name, arguments in [
        ("capture_lead", {"need": "3 BHK", "name": "Priya"}),
        ("schedule_callback", {"slot": "2030-01-07T11:00", "purpose": "site visit"}),
        ("handoff_to_human", {"reason": "asked"}),
        ("search_listings", {"locality": "Baner", "deal": "buy"}),
    ]:
        with pytest.raises(ErasedError):
            await toolbox.call(name, arguments)
    assert len(crm.received) == received
    assert await _everything(redis) == left
    assert not await HandoffFlags(redis, shards=SHARDS).active(subject)


async def test_a_tool_refused_by_the_fence_stops_the_reply_and_ends_the_call(
    redis: Redis, caller_tools: CallerTools, crm: TenantPeer
) -> None:
    """Driven as LiveKit drives the call's LLM: the model's sentence before the tool call is spoken, the
    refused `capture_lead` ends the reply there (the model is not asked again, nothing reaches the CRM) and
    the call is told the caller was erased (`CallConsent.erased`: `converse` then says goodbye and ends)."""
    call, toolbox = await caller_tools.toolbox(CALLER, "wacid.llm")
    assert call.consent is not None
    await caller_tools.privacy.rights.erase(
        caller_tools.privacy.subject(TENANT, CALLER), Actor("test", "cli")
    )
    with serve_chat_peer(model) as peer:
        async with AsyncOpenAI(base_url=peer.base_url, api_key="k", max_retries=0) as client:
            responder = Responder(client, "m", timeout_s=5)
            llm_ = AutomationLLM(
                responder,
                Automation(responder, pii_guard()),
                model="m",
                vault=Vault(),
                policy=RestorePolicy(),
                toolbox=toolbox,
                on_erased=call.consent.lost,
            )
            ctx = llm.ChatContext.empty()
            ctx.add_message(role="user", content="I want a 3 BHK in Baner.")
            heard: list[str] = []
            async with llm_.chat(chat_ctx=ctx) as stream:
                async for chunk in stream:
                    heard.append(chunk.delta.content or "" if chunk.delta else "")
    assert "".join(heard).strip() == "Let me note that down."
    assert call.consent.erased.is_set()
    assert len(peer.bodies) == 1
    assert crm.received == []
    assert (
        await LeadStore(redis, caller_tools.privacy.store, shards=SHARDS).all(
            caller_tools.privacy.subject(TENANT, CALLER)
        )
        == []
    )


async def test_a_caller_erased_during_the_call_hears_goodbye_and_the_call_ends(
    redis: Redis, redis_server: RedisServer, call_models: CallModels, synthesizer: PiperSynthesizer
) -> None:
    """End to end on loopback (the stack of test_call_consent.py: webhook, call worker, real models, an aiortc
    caller speaking Piper speech): the caller is erased after the disclosure; their "stop" then writes
    nothing and is not confirmed, they hear the goodbye, the call is terminated with `caller_erased`, and
    no consent hash of theirs comes back; the call record names nobody."""
    said = await synthesizer.synthesize("Stop.")
    who = caller_subject()
    async with call_stack(redis, redis_server.url, call_models) as stack:
        async with stack.call("wacid.erased") as caller:
            await caller.wait_quiet()

            async def disclosed() -> bool:
                return any(e["method"] == "disclosure" for e in await stack.privacy.consent.events_of(who))

            await eventually(disclosed, 20)
            await stack.privacy.rights.erase(who, Actor("test", "cli"))
            ledger = await stack.privacy.consent.events_of(who)
            said_until = await caller.say(to_call_rate(said))
            await eventually(lambda: stack.outcomes().get("caller_erased") == 1, 60)
            heard = caller.answer_since(said_until).text
        assert sounds_like(heard, "thank you for calling goodbye")
        assert "contact you again" not in heard  # the STOP's confirmation was not said
        assert stack.graph.actions_of("wacid.erased")[-1] == "terminate"
        assert stack.llm.bodies == []
        assert not await redis.exists(conversation_key(who, "consent", SHARDS))
        assert await stack.privacy.consent.events_of(who) == ledger
        rows = [r for r in await stack.privacy.processing.records("default") if r["event"] == "call"]
        assert [(r["subject"], r["outcome"]) for r in rows] == [(None, "caller_erased")]
