"""A business's own spoken disclosure, end to end on loopback (real redis-server, real models, the local Graph
and LLM peers, an aiortc caller whose ear is tiny.en): the caller hears the tenant's `consent.call_texts`
greeting, and the ledger's disclosure event carries the hash of exactly that text and the config version."""

from __future__ import annotations

import hashlib
import shutil
from typing import TYPE_CHECKING

import pytest

from agent.tenants.registry import load_tenant
from tests.agent.calls.hearing import opening_wer, sounds_like
from tests.agent.calls.stack import call_stack, subject
from tests.agent.stack import eventually
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

    from redis.asyncio import Redis

    from agent.calls.loaded import CallModels
    from tests.redis_server import RedisServer

CUSTOM = (
    "Good day, this is the virtual receptionist of {business}. I am a computer program, not a person. "
    "Say talk to a person for our team."
)


@pytest.fixture
def custom_tenant(tmp_path: Path) -> Path:
    """The shipped default tenant, with its own English call disclosure (every other call text built in)."""
    folder = tmp_path / "prompts" / "default"
    shutil.copytree(ROOT / "prompts" / "default", folder)
    config = folder / "tenant.yaml"
    text = config.read_text()
    assert "  record_calls: false\n" in text
    config.write_text(
        text.replace(
            "  record_calls: false\n",
            f"  record_calls: false\n  call_texts:\n    en:\n      greeting: '{CUSTOM}'\n",
        )
    )
    return folder.parent


async def test_a_caller_hears_the_businesss_own_disclosure_and_the_ledger_records_it(
    redis: Redis, redis_server: RedisServer, call_models: CallModels, custom_tenant: Path
) -> None:
    tenant = load_tenant(custom_tenant / "default")
    said = CUSTOM.replace("{business}", tenant.name)
    async with call_stack(redis, redis_server.url, call_models, prompts_dir=custom_tenant) as stack:
        async with stack.call("wacid.custom") as caller:
            await caller.wait_quiet()
            heard = caller.hear()
        assert opening_wer(said, heard) < 0.4
        assert sounds_like(heard, "I am a computer program, not a person")
        assert not sounds_like(heard, "You are speaking with the AI assistant of")  # the built-in greeting
        assert stack.llm.bodies == []

        async def disclosed() -> bool:
            return any(e["method"] == "disclosure" for e in await stack.privacy.consent.events_of(subject()))

        await eventually(disclosed, 20)
        events = [e for e in await stack.privacy.consent.events_of(subject()) if e["method"] == "disclosure"]
        assert {e["notice_sha256"] for e in events} == {hashlib.sha256(said.encode()).hexdigest()}
        assert {e["config_version"] for e in events} == {tenant.consent_version}
        assert {e["evidence"] for e in events} == {"wacid.custom"}
