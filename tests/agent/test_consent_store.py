"""The consent ledger and state on a real redis-server: hash chain, tamper detection, transitions, guard,
disclosure timing with an injected clock."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import threading
from typing import TYPE_CHECKING, Any

import pytest

from agent.privacy.assembly import Privacy
from agent.privacy.gate import Keywords
from agent.privacy.ledger import ConsentGuard, ConsentStore, Context, HashChain, Signal
from agent.privacy.rights import Actor
from agent.storage.conversations import ConversationStore
from agent.storage.erasure import Epochs, ErasedError
from agent.storage.keyring import Keyring
from agent.storage.keys import conversation_key, tenant_key
from agent.storage.redis_client import redis_client
from agent.tenants.registry import TenantRegistry
from pipelines.consent import (
    Intent,
    Method,
    Overlay,
    Purpose,
    State,
    SubjectConsent,
    Transition,
    covered,
    render_notice,
    transition,
)
from tests.conftest import ON_SERVER_AND_CLUSTER, ROOT

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Sequence
    from pathlib import Path

    from redis.asyncio import Redis

    from tests.conftest import RedisBackend

SUBJECT = "default:0123456789abcdef01234567"
CONTEXT = Context(
    method=Method.KEYWORD, channel="whatsapp", actor="subject", config_version="c1", evidence="wamid.1"
)


pytestmark = ON_SERVER_AND_CLUSTER  # every script, transaction and scan here holds on a cluster too


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_chain_verifies_and_a_concurrent_burst_stays_linked(redis: Redis) -> None:
    chain = HashChain(redis, "ledger")
    await asyncio.gather(*(chain.append("default", {"n": i}) for i in range(30)))
    records = await chain.records("default")
    assert sorted(r.body["n"] for r in records) == list(range(30))
    assert all(later.prev == earlier.hash for earlier, later in itertools.pairwise(records))
    check = await chain.verify("default")
    assert (check.ok, check.checked) == (True, 30)


async def _rewrite(redis: Redis, chain: HashChain, edit: int | None = None, drop: int | None = None) -> None:
    """What someone with write access to Redis could do: rebuild the stream with one record changed."""
    stream = tenant_key("default", "ledger")
    entries = await redis.xrange(stream)
    await redis.delete(stream)
    for i, (entry_id, fields) in enumerate(entries):
        if i == drop:
            continue
        if i == edit:
            body = json.loads(fields[b"body"])
            body["state"] = "granted"
            fields = {**fields, b"body": json.dumps(body, sort_keys=True, separators=(",", ":")).encode()}
        await redis.xadd(stream, fields, id=entry_id)


async def test_changing_one_ledger_event_is_detected(redis: Redis) -> None:
    store = ConsentStore(redis, shards=4)
    for intent in (Intent.OPT_OUT, Intent.OPT_IN, Intent.OPT_OUT):
        await store.apply(SUBJECT, transition(await store.current(SUBJECT), intent), CONTEXT)
    assert (await store.ledger.verify("default")).ok
    records = await store.ledger.records("default")
    await _rewrite(redis, store.ledger, edit=1)  # marketing withdrawn → "granted"
    check = await store.ledger.verify("default")
    assert not check.ok
    assert check.broken_at == records[1].entry_id


async def test_deleting_an_event_or_the_newest_ones_is_detected(redis: Redis) -> None:
    store = ConsentStore(redis, shards=4)
    for intent in (Intent.OPT_OUT, Intent.OPT_IN):
        await store.apply(SUBJECT, transition(await store.current(SUBJECT), intent), CONTEXT)
    records = await store.ledger.records("default")
    await _rewrite(redis, store.ledger, drop=1)
    assert (await store.ledger.verify("default")).broken_at == records[2].entry_id
    await _rewrite(redis, store.ledger, drop=len(records) - 2)  # now the last one is gone
    assert not (await store.ledger.verify("default")).ok


async def test_events_are_evidence_without_content(redis: Redis) -> None:
    store = ConsentStore(redis, shards=4, clock=Clock())
    events = await store.apply(SUBJECT, transition(await store.current(SUBJECT), Intent.OPT_OUT), CONTEXT)
    assert {(e.purpose, e.state, e.previous) for e in events} == {
        ("reply", "withdrawn", "unknown"),
        ("marketing", "denied", "unknown"),  # never granted: STOP then START will not grant it
        ("calls", "denied", "unknown"),
    }
    (record, *_) = await store.ledger.records("default")
    assert set(record.body) == {
        "subject", "purpose", "state", "previous", "method", "channel", "evidence", "actor", "at",
        "config_version", "notice_version", "notice_sha256", "expires_at", "given_at", "wanted",
    }  # fmt: skip
    assert record.body["method"] == "keyword"
    assert record.body["evidence"] == "wamid.1"
    assert record.body["at"] == 1_800_000_000.0
    again = await store.apply(SUBJECT, transition(await store.current(SUBJECT), Intent.OPT_OUT), CONTEXT)
    assert again == []  # nothing changed, nothing recorded


async def test_guard_honours_state_overlays_suppression_and_termination(redis: Redis) -> None:
    store = ConsentStore(redis, shards=4)
    guard = ConsentGuard(store, TenantRegistry.load(ROOT / "prompts"))
    assert await guard.may("default", SUBJECT, Purpose.REPLY)
    assert not await guard.may("default", SUBJECT, Purpose.MARKETING)
    assert not await guard.may("other", SUBJECT, Purpose.REPLY)  # one tenant never decides for another
    await store.apply(SUBJECT, Transition({Purpose.MARKETING: State.GRANTED}), CONTEXT)
    assert await guard.may("default", SUBJECT, Purpose.MARKETING)
    await store.set_overlay(SUBJECT, Overlay.OBJECTED, True, CONTEXT)
    assert (await guard.may("default", SUBJECT, Purpose.REPLY)).reason == "objected"
    await store.set_overlay(SUBJECT, Overlay.OBJECTED, False, CONTEXT)
    assert await guard.may("default", SUBJECT, Purpose.REPLY)
    await redis.set(tenant_key("default", "terminated"), "1")
    assert (await guard.may("default", SUBJECT, Purpose.REPLY)).reason == "tenant_frozen"


async def test_disclosure_once_then_again_after_the_idle_period(redis: Redis) -> None:
    clock = Clock()
    tenants = TenantRegistry.load(ROOT / "prompts")
    keyring = Keyring(b"k" * 32)
    privacy = Privacy.build(
        redis, ConversationStore(redis, keyring, shards=4), keyring, tenants, shards=4, clock=clock
    )
    store, gate = privacy.consent, privacy.gate
    notice = await gate.disclosure("default", SUBJECT, "hello")
    assert notice is not None
    assert "Suryoday Solar" in notice.text
    await gate.disclosed("default", SUBJECT, notice, "wamid.out1")
    assert await gate.disclosure("default", SUBJECT, "hello again") is None
    clock.now += 29 * 86_400
    assert await gate.disclosure("default", SUBJECT, "hi") is None
    clock.now += 2 * 86_400  # the default tenant re-discloses after 30 idle days
    again = await gate.disclosure("default", SUBJECT, "नमस्ते")
    assert again is not None
    assert again.language == "hi"
    (first, *_rest) = [e for e in await store.events_of(SUBJECT) if e["method"] == "disclosure"]
    assert first["evidence"] == "wamid.out1"
    assert (
        first["notice_sha256"]
        == render_notice(
            tenants.get("default").config.catalogue.get("en").disclosure,
            "en",
            business="Suryoday Solar",
            version=notice.version,
        ).sha256
    )


async def test_a_time_limited_grant_expires(redis: Redis) -> None:
    clock = Clock()
    store = ConsentStore(redis, shards=4, clock=clock)
    guard = ConsentGuard(store, TenantRegistry.load(ROOT / "prompts"), clock=clock)
    week = clock.now + 7 * 86_400
    (event,) = await store.apply(SUBJECT, Transition({Purpose.CALLS: State.GRANTED}, expires={Purpose.CALLS: week}),
                                 CONTEXT)  # fmt: skip
    assert event.expires_at == week
    assert await guard.may("default", SUBJECT, Purpose.CALLS)
    clock.now = week
    assert (await guard.may("default", SUBJECT, Purpose.CALLS)).reason == "expired"
    renewed = Transition({Purpose.CALLS: State.GRANTED}, expires={Purpose.CALLS: week + 7 * 86_400})
    assert len(await store.apply(SUBJECT, renewed, CONTEXT)) == 1  # a renewal is evidence too
    assert await guard.may("default", SUBJECT, Purpose.CALLS)
    await store.apply(SUBJECT, Transition({Purpose.CALLS: State.GRANTED}), CONTEXT)  # now permanent
    clock.now += 365 * 86_400
    assert await guard.may("default", SUBJECT, Purpose.CALLS)


def test_keywords_follow_a_reloaded_tenant_config(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "prompts" / "default", tmp_path / "default")
    tenants = TenantRegistry.load(tmp_path)
    keywords = Keywords(tenants)
    assert keywords.match("default", "bas karo") is not None  # prompts/default adds it for Hindi
    yaml_path = tmp_path / "default" / "tenant.yaml"
    yaml_path.write_text(yaml_path.read_text().replace('"bas karo"', '"ruk jao"'))
    assert [change.applied for change in tenants.refresh()] == [True]
    assert keywords.match("default", "bas karo") is None
    assert keywords.match("default", "Ruk jao!") is not None


class _LedgerDownOnce(HashChain):
    """The ledger's Redis call fails once, right after the change was committed (a crash between the two)."""

    failed = False

    async def append_bodies(self, tenant: str, bodies: Sequence[str]) -> str:
        if not self.failed:
            self.failed = True
            raise ConnectionError("ledger unreachable")
        return await super().append_bodies(tenant, bodies)


async def test_a_change_is_never_without_evidence_when_the_ledger_write_fails(redis: Redis) -> None:
    clock = Clock()
    store = ConsentStore(redis, shards=4, clock=clock, ledger=_LedgerDownOnce(redis, "ledger"))
    stop = Signal(clock.now, "wamid.s1")
    with pytest.raises(ConnectionError):
        await store.apply(SUBJECT, transition(SubjectConsent(), Intent.OPT_OUT), CONTEXT, signal=stop)
    assert (await store.current(SUBJECT)).state(Purpose.REPLY) is State.WITHDRAWN  # committed ...
    assert await store.events_of(SUBJECT) == []  # ... its evidence waits in the subject's outbox
    again = await store.apply(SUBJECT, transition(SubjectConsent(), Intent.OPT_OUT), CONTEXT, signal=stop)
    assert again == []  # the redelivery is a duplicate, and it flushed the outbox
    start = Context(method=Method.KEYWORD, channel="whatsapp", actor="subject", config_version="c1",
                    evidence="wamid.s2")  # fmt: skip
    await store.apply(
        SUBJECT, Transition({Purpose.REPLY: State.GRANTED}), start, signal=Signal(clock.now + 1, "s2")
    )
    assert [
        (e["state"], e["evidence"]) for e in await store.events_of(SUBJECT) if e["purpose"] == "reply"
    ] == [
        ("withdrawn", "wamid.1"),
        ("granted", "wamid.s2"),
    ]
    assert (await store.ledger.verify("default")).ok


async def test_a_turns_consent_writes_are_refused_once_the_person_was_erased(redis: Redis) -> None:
    """A turn that began before an erasure (its fence) writes no consent state after it: neither a keyword's
    change nor the disclosure it sent, so the erased person's consent hash is not brought back."""
    clock, epochs = Clock(), Epochs(redis, shards=4)
    store = ConsentStore(redis, shards=4, clock=clock)
    keyring = Keyring(b"k" * 32)
    privacy = Privacy.build(
        redis, ConversationStore(redis, keyring, shards=4), keyring, TenantRegistry.load(ROOT / "prompts"),
        shards=4, clock=clock,
    )  # fmt: skip
    notice = await privacy.gate.disclosure("default", SUBJECT, "hello")
    assert notice is not None
    fence = await epochs.current(SUBJECT)  # the turn claims the conversation
    await epochs.end(SUBJECT, await epochs.begin(SUBJECT))  # then the person is erased
    start = Transition({Purpose.REPLY: State.GRANTED})
    with pytest.raises(ErasedError):
        await store.apply(SUBJECT, start, CONTEXT, signal=Signal(clock.now, "wamid.e1"), fence=fence)
    with pytest.raises(ErasedError):
        await store.record_notice(SUBJECT, notice, CONTEXT, fence=fence)
    assert not await redis.exists(conversation_key(SUBJECT, "consent", 4))
    assert await store.signal_outcome(SUBJECT, "wamid.e1") is None  # not even deduped: nothing was applied
    # A turn that began after the erasure writes as usual.
    (event,) = await store.apply(SUBJECT, start, CONTEXT, fence=await epochs.current(SUBJECT))
    assert event.state == "granted"


async def test_a_stop_that_lands_while_the_disclosure_is_recorded_is_not_overwritten(
    redis: Redis, redis_backend: RedisBackend
) -> None:
    """A turn records its disclosure after the send, and the webhook applies a STOP on arrival: one that lands
    between the notice's read of the consent and its write (forced here: from another connection, the moment
    the notice is timed) stays in force; `noticed` never overwrites `withdrawn` (a person answered after STOP)."""
    stop = Signal(1_800_000_000.0, "wamid.stop")

    async def the_webhook_applies_stop() -> None:
        client = redis_client(redis_backend.url)
        try:
            await ConsentStore(client, shards=4).apply(
                SUBJECT,
                lambda c: transition(c, Intent.OPT_OUT),
                CONTEXT,
                signal=stop,
                covers=covered(Intent.OPT_OUT),
            )
        finally:
            await client.aclose()

    meanwhile = Meanwhile(the_webhook_applies_stop)
    store = ConsentStore(redis, shards=4, clock=meanwhile)
    notice = render_notice("I am an AI assistant.", "en", business="B", version="v1")
    await store.record_notice(SUBJECT, notice, CONTEXT)
    assert meanwhile.ran.is_set()
    assert (await store.current(SUBJECT)).state(Purpose.REPLY) is State.WITHDRAWN
    states = [(e["purpose"], e["state"]) for e in await store.events_of(SUBJECT)]
    assert ("reply", "withdrawn") in states
    assert ("reply", "noticed") not in states  # the evidence matches the state: the notice saw the STOP
    assert (await store.ledger.verify("default")).ok


class Meanwhile(Clock):
    """A clock that, the first time a write asks it the time (after its read, before its write), runs
    `concurrent()` to its end from its own thread, event loop and connection: a concurrent writer, forced
    into exactly that gap."""

    def __init__(self, concurrent: Callable[[], Coroutine[Any, Any, object]]) -> None:
        super().__init__()
        self._concurrent = concurrent
        self.ran = threading.Event()

    def __call__(self) -> float:
        if not self.ran.is_set():
            self.ran.set()
            thread = threading.Thread(target=asyncio.run, args=(self._concurrent(),))
            thread.start()
            thread.join()
        return self.now


@pytest.mark.parametrize("active", [True, False], ids=["set", "lift"])
async def test_two_racing_overlay_changes_record_one_event(
    redis: Redis, redis_backend: RedisBackend, active: bool
) -> None:
    """Two admins restrict (or lift the restriction of) the same person at once; the second reads the consent
    while the first has read it and not yet written (forced). One of them changes it and logs one event; the
    other sees it already so: `changed` False, nothing logged."""
    seed = ConsentStore(redis, shards=4)
    if not active:
        await seed.set_overlay(SUBJECT, Overlay.RESTRICTED, True, CONTEXT)
    others: list[bool] = []

    async def another_admin() -> None:
        client = redis_client(redis_backend.url)
        try:
            store = ConsentStore(client, shards=4)
            others.append(await store.set_overlay(SUBJECT, Overlay.RESTRICTED, active, CONTEXT))
        finally:
            await client.aclose()

    meanwhile = Meanwhile(another_admin)
    store = ConsentStore(redis, shards=4, clock=meanwhile)
    mine = await store.set_overlay(SUBJECT, Overlay.RESTRICTED, active, CONTEXT)
    assert meanwhile.ran.is_set()
    assert (mine, others) == (False, [True])  # the other one committed first; this one saw it
    assert (Overlay.RESTRICTED in (await store.current(SUBJECT)).overlays) is active
    states = [e["state"] for e in await store.events_of(SUBJECT)]
    assert states == (["restricted"] if active else ["restricted", "lifted"])
    assert (await store.ledger.verify("default")).ok


async def test_an_overlay_is_refused_while_the_persons_erasure_runs(redis: Redis) -> None:
    """An admin restriction that lands while an erasure runs (epoch odd) is refused and audited, and brings
    back no consent hash for the erasure to miss; a fenced overlay whose fence moved writes nothing either."""
    keyring, epochs = Keyring(b"k" * 32), Epochs(redis, shards=4)
    privacy = Privacy.build(
        redis, ConversationStore(redis, keyring, shards=4), keyring, TenantRegistry.load(ROOT / "prompts"),
        shards=4, clock=Clock(),
    )  # fmt: skip
    fence = await epochs.current(SUBJECT)
    await epochs.begin(SUBJECT)  # the erasure runs (and has deleted the consent hash)
    admin = Actor("tenant:default", "admin_api")
    with pytest.raises(ErasedError):
        await privacy.rights.restrict(SUBJECT, admin)
    with pytest.raises(ErasedError):
        await privacy.consent.set_overlay(SUBJECT, Overlay.OBJECTED, True, CONTEXT, fence=fence)
    assert not await redis.exists(conversation_key(SUBJECT, "consent", 4))
    assert await privacy.consent.events_of(SUBJECT) == []
    records, _ = await privacy.rights.read_audit("default", admin)
    assert [(r["action"], r["outcome"]) for r in records] == [("restrict", "erasing")]
    await epochs.end(SUBJECT, 1)  # once it is over, a restriction is recorded as usual
    assert await privacy.rights.restrict(SUBJECT, admin)


async def test_admin_changes_are_ordered_by_now_and_deduped_signals_by_id(redis: Redis) -> None:
    clock = Clock()
    store = ConsentStore(redis, shards=4, clock=clock)
    grant = Transition({Purpose.MARKETING: State.GRANTED})
    (event,) = await store.apply(SUBJECT, grant, CONTEXT)  # no signal: an admin change, given now
    assert event.given_at == clock.now
    stale = Transition({Purpose.MARKETING: State.WITHDRAWN})
    (superseded,) = await store.apply(SUBJECT, stale, CONTEXT, signal=Signal(clock.now - 5, "pref@old"))
    assert (superseded.state, superseded.wanted, superseded.previous) == (
        "superseded",
        "withdrawn",
        "granted",
    )
    assert await store.signal_outcome(SUBJECT, "pref@old") == "superseded"
    assert await store.apply(SUBJECT, stale, CONTEXT, signal=Signal(clock.now - 5, "pref@old")) == []
    assert (await store.current(SUBJECT)).state(Purpose.MARKETING) is State.GRANTED
