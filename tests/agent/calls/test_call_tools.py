"""The tenant's tools work in calls as in chat: the shipped real-estate tenant (tools on), its CRM as a local
HTTP peer that verifies the HMAC signature (tests/agent/tenant_peer.py), the LLM peer scripting tool calls;
otherwise the loopback call set-up of test_call.py."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

import pytest

from agent.messages.queue import QueueConfig
from agent.storage.handoff import HandoffFlags
from agent.storage.keyring import Keyring, master_secret
from tests.agent.calls.caller import to_call_rate
from tests.agent.calls.hearing import sounds_like
from tests.agent.calls.stack import CALLER, call_stack
from tests.agent.stack import MASTER, TOKEN
from tests.agent.tenant_peer import TenantPeer, serve_tenant_peer
from tests.conftest import ROOT
from tests.llm_peer import Call

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from redis.asyncio import Redis

    from agent.calls.loaded import CallModels
    from pipelines.tts import PiperSynthesizer
    from tests.redis_server import RedisServer

TENANT, NUMBER_ID = "gharkhoj-realty", "100000000000002"
SECRET = "whsec-test-gharkhoj-0123456789"


def model(messages: list[dict[str, Any]]) -> str | list[Call]:
    last = messages[-1]
    if last["role"] == "tool":
        return "Sure, an agent from our team will call you back shortly. Goodbye!"
    return [Call("handoff_to_human", {"reason": "caller asked for an agent"})]


@pytest.fixture
def crm() -> Iterator[TenantPeer]:
    with serve_tenant_peer(SECRET.encode()) as peer:
        yield peer


@pytest.fixture
def prompts(tmp_path: Path, crm: TenantPeer, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "prompts" / TENANT
    shutil.copytree(ROOT / "prompts" / TENANT, folder)
    config = folder / "tenant.yaml"
    text = config.read_text().replace("https://crm.gharkhoj-realty.example", crm.base_url)
    config.write_text(text.replace("https://api.gharkhoj-realty.example", crm.base_url))
    monkeypatch.setenv("LEADCLOSE_TENANT_GHARKHOJ_REALTY__ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("LEADCLOSE_TENANT_GHARKHOJ_REALTY__WEBHOOK_SECRET", SECRET)
    return folder.parent


async def test_a_handoff_in_a_call_notifies_the_business_and_ends_the_call_with_a_message(
    redis: Redis,
    redis_server: RedisServer,
    call_models: CallModels,
    synthesizer: PiperSynthesizer,
    prompts: Path,
    crm: TenantPeer,
) -> None:
    said = await synthesizer.synthesize("Can I speak with someone from your team about a flat?")
    async with (
        call_stack(redis, redis_server.url, call_models, reply=model, prompts_dir=prompts) as stack,
        stack.call("wacid.tools", NUMBER_ID) as caller,
    ):
        await caller.wait_quiet()
        assert sounds_like((await stack.final_answer(caller, to_call_rate(said))).text, "call you back")
        assert len(crm.events("handoff.requested")) == 1
        conv = Keyring(master_secret(MASTER)).conversation_ref(TENANT, CALLER)
        assert await HandoffFlags(redis, shards=QueueConfig().shards).active(conv)
        tools_offered = [r for r in stack.llm.requests if r.get("tools")]
        assert tools_offered  # the tenant's tools were offered in the call
        assert stack.graph.actions_of("wacid.tools") == ["pre_accept", "accept", "terminate"]
