"""A caller erased during a live call (real redis-server): what the call would keep at its end (the
transcript, the recording) is not written, and its content-free record does not name the caller. The call's
model, audio and peers play no part here, so none is started."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.calls.consent import CallConsent, CallTranscript
from agent.consent_store import Context
from agent.privacy import Privacy
from agent.rights import Actor
from agent.store import ConversationStore, Keyring, master_secret
from agent.tenants import TenantRegistry
from pipelines.consent import Method, Purpose, State, Transition
from tests.agent.stack import MASTER
from tests.conftest import ROOT

if TYPE_CHECKING:
    from redis.asyncio import Redis

GRANT = Context(method=Method.TENANT_API, channel="admin_api", actor="tenant:default", config_version="t")


async def test_a_caller_erased_during_the_call_leaves_nothing_when_it_ends(redis: Redis) -> None:
    keyring = Keyring(master_secret(MASTER))
    tenants = TenantRegistry.load(ROOT / "prompts")
    privacy = Privacy.build(redis, ConversationStore(redis, keyring, shards=8), keyring, tenants, shards=8)
    subject = privacy.subject("default", "919876543210")
    everything = Transition({Purpose.RETAIN_CONTENT: State.GRANTED, Purpose.CALL_RECORDING: State.GRANTED})
    tenant = tenants.get("default")[0]
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
