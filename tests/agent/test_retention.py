"""Retention on a real redis-server with an injected clock: T2 and T0 purged on their own periods, the purge
recorded as counts, pending erasures carried out, a terminated tenant deleted only after the grace period."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.messages.queue import CallQueue, ConversationQueue, QueueConfig, QueuedCall
from agent.privacy.assembly import Privacy
from agent.privacy.ledger import Context
from agent.privacy.records import ProcessingRecord
from agent.privacy.rights import Actor
from agent.storage.conversations import ConversationStore
from agent.storage.handoff import HandoffFlags
from agent.storage.keyring import Keyring
from agent.storage.keys import booked_slots, conversation_key, tenant_key
from agent.tenants.consent import DAY_S
from agent.tenants.registry import TenantRegistry
from pipelines.consent import Intent, Method, Purpose, State, Transition, transition
from tests.conftest import ON_SERVER_AND_CLUSTER, ROOT

if TYPE_CHECKING:
    from redis.asyncio import Redis

GRANT = Context(method=Method.TENANT_API, channel="admin_api", actor="tenant:default", config_version="t")


pytestmark = ON_SERVER_AND_CLUSTER  # every script, transaction and scan here holds on a cluster too


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _privacy(redis: Redis, clock: Clock) -> Privacy:
    keyring = Keyring(b"retention-test-master-key")
    store = ConversationStore(redis, keyring, shards=8)
    return Privacy.build(redis, store, keyring, TenantRegistry.load(ROOT / "prompts"), shards=8, clock=clock)


async def _turn_with_content(privacy: Privacy, subject: str, message_id: str) -> None:
    await privacy.consent.apply(subject, Transition({Purpose.RETAIN_CONTENT: State.GRANTED}), GRANT)
    kept = await privacy.gate.retain(
        "default",
        subject,
        [("message", "price for 3 kW?", message_id), ("reply", "About 1.8 lakh.", message_id)],
    )
    assert kept
    record = ProcessingRecord(event="turn", subject=subject, outcome="replied", message=message_id)
    await privacy.gate.processed("default", subject, record)


async def test_content_expires_before_processing_records_and_the_purge_counts(redis: Redis) -> None:
    clock = Clock()
    privacy = _privacy(redis, clock)
    alice, bob = privacy.subject("default", "919876543210"), privacy.subject("default", "447700900123")
    await _turn_with_content(privacy, alice, "m1")
    clock.now += 10 * DAY_S
    await _turn_with_content(privacy, bob, "m2")
    clock.now += 5 * DAY_S  # alice's content is 15 days old (tenant keeps 14), bob's 5
    purge = await privacy.retention.sweep("default")
    assert (purge.content, purge.processing) == (2, 0)
    assert await privacy.content.count(alice) == 0
    assert [e.text for e in await privacy.content.entries(bob)] == ["price for 3 kW?", "About 1.8 lakh."]
    turns = [r for r in await privacy.processing.records("default") if r["event"] == "turn"]
    assert len(turns) == 2  # T0 keeps its own (longer) period
    (recorded,) = [r for r in await privacy.processing.records("default") if r["event"] == "retention.purge"]
    assert recorded["counts"] == {"content": 2, "processing": 0, "erasures": 0, "audit": 0}
    assert "price" not in str(recorded)
    clock.now += 90 * DAY_S
    later = await privacy.retention.sweep("default")
    assert later.content == 2
    assert later.processing == 3  # both turns and the first purge record
    assert await privacy.content.count(bob) == 0


async def test_content_is_never_written_without_retention_consent(redis: Redis) -> None:
    privacy = _privacy(redis, Clock())
    subject = privacy.subject("default", "919876543210")
    assert not await privacy.gate.retain("default", subject, [("message", "hello", "m1")])
    assert await privacy.content.count(subject) == 0
    await privacy.consent.apply(subject, Transition({Purpose.RETAIN_CONTENT: State.GRANTED}), GRANT)
    await privacy.consent.apply(subject, transition(await privacy.consent.current(subject), Intent.DELETE_DATA),
                                GRANT)  # fmt: skip
    assert not await privacy.gate.retain("default", subject, [("message", "hello", "m2")])


async def test_sweep_carries_out_pending_erasures(redis: Redis) -> None:
    privacy = _privacy(redis, Clock())
    subject = privacy.subject("default", "919876543210")
    await _turn_with_content(privacy, subject, "m1")
    await HandoffFlags(redis, shards=8).hand_off(subject, "keyword")
    await privacy.consent.apply(subject, transition(await privacy.consent.current(subject), Intent.DELETE_DATA),
                                GRANT)  # fmt: skip
    purge = await privacy.retention.sweep("default")
    assert purge.erasures == 1
    assert await privacy.consent.pending_erasures("default") == []
    left = [k async for k in redis.scan_iter(match=conversation_key(subject, "*", 8))]
    epoch = conversation_key(subject, "epoch", 8)
    assert left == [epoch.encode()]  # the erasure counter only: no data, gone in a day
    assert await redis.get(epoch) == b"2"
    assert 0 < await redis.ttl(epoch) <= 86_400
    status = await privacy.rights.status(subject, Actor("test", "cli"))
    assert status["suppressed"] is True
    assert status["content_entries"] == 0
    (erase,) = [r.body for r in await privacy.rights.audit.records("default") if r.body["action"] == "erase"]
    assert erase["actor"] == "retention"


async def test_terminated_tenant_is_frozen_then_deleted_after_the_grace_period(redis: Redis) -> None:
    clock = Clock()
    privacy = _privacy(redis, clock)
    subject = privacy.subject("default", "919876543210")
    await _turn_with_content(privacy, subject, "m1")
    await redis.set(conversation_key("other:abc", "state", 8), b"another tenant's data")
    calls = [
        _call("default", subject, "c1"),
        _call("other", "other:abc", "c2"),
    ]
    await CallQueue(redis, privacy.store).enqueue_many(calls)
    for tenant in ("default", "other"):  # the tenant's bookings go with it (they are not a person's)
        await redis.zadd(booked_slots(tenant), {"2026-11-30T10:30": 1.0})
    await privacy.retention.terminate("default")
    assert (await privacy.guard.may("default", subject, Purpose.REPLY)).reason == "tenant_frozen"
    clock.now += 89 * DAY_S
    frozen = await privacy.retention.sweep("default")
    assert frozen.tenant_keys == 0
    assert frozen.content == 2  # the usual periods keep running while frozen
    assert await privacy.consent.events_of(subject)  # the evidence stays until the grace period ends
    clock.now += 2 * DAY_S
    deleted = await privacy.retention.sweep("default")
    assert deleted.tenant_keys > 0
    remaining = sorted(
        [k.decode() async for k in redis.scan_iter(match="*") if not k.startswith(b"lc:{calls}")]
    )
    others = [conversation_key("other:abc", suffix, 8) for suffix in ("state", "dek")]  # dek: its call event
    assert remaining == sorted([*others, booked_slots("other"), tenant_key("default", "terminated")])
    # The tenant's call events went too (the other tenant's stay).
    assert [f[b"tenant"] for _, f in await redis.xrange(CallQueue.STREAM)] == [b"other"]
    assert (await privacy.guard.may("default", subject, Purpose.REPLY)).reason == "tenant_frozen"


async def test_audit_log_is_trimmed_to_its_period_and_still_verifies(redis: Redis) -> None:
    clock = Clock()
    privacy = _privacy(redis, clock)
    subject = privacy.subject("default", "919876543210")
    actor = Actor("test", "cli")
    await privacy.rights.status(subject, actor)
    clock.now += 200 * DAY_S
    await privacy.rights.status(subject, actor)
    await privacy.rights.restrict(subject, actor)
    clock.now += 200 * DAY_S  # the first access is 400 days old, the others 200 (the tenant keeps 365)
    purge = await privacy.retention.sweep("default")
    assert purge.audit == 1
    kept = await privacy.rights.audit.records("default")
    assert [r.body["action"] for r in kept] == ["status", "restrict"]
    assert (await privacy.rights.audit.verify("default")).ok


async def test_a_deleted_tenant_leaves_no_dead_letters_behind(redis: Redis) -> None:
    """Dead letters hold ids and reasons, but each names its person: they go with the tenant."""
    clock = Clock()
    privacy = _privacy(redis, clock)
    queue = ConversationQueue(redis, QueueConfig(shards=8), clock=clock)
    people = [
        privacy.subject("default", "919876543210"),
        privacy.subject("default", "447700900123"),
        "other:abc",
    ]
    for n, conv in enumerate(people):
        await queue.enqueue(conv, f"m{n}", "text", {"tenant": conv.split(":")[0]})
        claim = await queue.claim("w")
        assert claim is not None
        await queue.dead_letter(claim, "test")
    assert sorted(d["conv"] for d in await queue.dead_letters()) == sorted(people)
    await privacy.retention.terminate("default")
    clock.now += 91 * DAY_S
    assert (await privacy.retention.sweep("default")).tenant_keys > 0
    assert [d["conv"] for d in await queue.dead_letters()] == ["other:abc"]


def _call(tenant: str, subject: str, call_id: str) -> QueuedCall:
    return QueuedCall(
        tenant=tenant,
        subject=subject,
        call_id=call_id,
        event="connect",
        phone_number_id="15550001111",
        user_key="919876543210",
        timestamp=1_700_000_000,
    )
