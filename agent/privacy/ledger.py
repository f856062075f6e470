"""Consent on Redis: the hash-chained evidence ledger, each subject's current state, suppression, the guard.

Keys (agent/storage/keys.py): per tenant, the ledger stream and its head, the suppressed and pending-erasure
sets and the termination time, under the hash tag `{tenant}` so each chained append touches one slot; per
subject, beside the conversation's queue keys, the consent hash (fields p:<purpose> → state, t:<purpose> →
when the last applied signal was given, x:<purpose> → expiry, o:<overlay> → 1, noticed_at), its outbox of
evidence not yet in the ledger, and each consent signal seen (applied|superseded).

Order (invariant 10): every change carries the time it was given (the message's timestamp; now for admin,
API and CLI changes). Per subject and purpose, a signal older than the last applied one changes nothing and
is recorded in the ledger as `superseded`. A signal with a message id is deduped by it before anything is
applied; the check, the order test and the state change are one WATCH/MULTI transaction on the subject's
keys (one slot), so two deliveries racing each other apply once and in order.

Nothing here holds message content; subject keys are `Keyring.conversation_ref` values (an HMAC).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from redis.exceptions import WatchError

from agent.storage.erasure import PENDING_FIELD, ErasedError, Fence
from agent.storage.keys import conversation_key, epoch_key, tenant_key, tenant_of
from pipelines.consent import (
    Decision,
    Method,
    Notice,
    Overlay,
    Purpose,
    State,
    SubjectConsent,
    Transition,
    may,
    noticed,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence

    from agent.storage.redis_client import RedisClient
    from agent.tenants.registry import TenantRegistry

GENESIS = "0" * 64
_PAGE = 500
SIGNAL_DEDUPE_S = 30 * 86_400  # Meta redelivers for days; a keyword's id is remembered well beyond that
SUPERSEDED = "superseded"
_FLUSH_LOCK_MS = 10_000
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class ChainRecord:
    entry_id: str
    body: dict[str, Any]
    prev: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainCheck:
    ok: bool
    checked: int
    broken_at: str | None = None  # the entry id of the first record that does not verify


def _body(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _link(prev: str, body: str) -> str:
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


class HashChain:
    """An append-only stream per tenant where each record carries the hash of its body and of its
    predecessor, so editing, deleting or reordering any record breaks verification from there on."""

    def __init__(self, redis: RedisClient, name: str) -> None:
        self._redis = redis
        self._name = name

    def _stream(self, tenant: str) -> str:
        return tenant_key(tenant, self._name)

    async def append(self, tenant: str, record: Mapping[str, Any]) -> str:
        return await self.append_bodies(tenant, [_body(record)])

    async def append_bodies(self, tenant: str, bodies: Sequence[str]) -> str:
        """Appends records already serialized by `_body`, in order, in one transaction; returns the new head."""
        stream, head = self._stream(tenant), self._stream(tenant) + ":head"
        while True:
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(head)
                    digest = _text(await pipe.get(head) or GENESIS)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    for body in bodies:
                        prev, digest = digest, _link(digest, body)
                        pipe.xadd(stream, {"body": body, "prev": prev, "hash": digest})
                    pipe.set(head, digest)
                    await pipe.execute()
                    return digest
                except WatchError:
                    continue  # another writer appended first: link to its record instead

    async def iterate(self, tenant: str) -> AsyncIterator[ChainRecord]:
        """Oldest first, one page at a time."""
        start = "-"
        while True:
            page: list[Any] = (
                await self._redis.xrange(self._stream(tenant), min=start, max="+", count=_PAGE) or []
            )
            for entry_id, fields in page:
                f = {_text(k): _text(v) for k, v in fields.items()}
                yield ChainRecord(_text(entry_id), json.loads(f["body"]), f["prev"], f["hash"])
            if len(page) < _PAGE:
                return
            start = "(" + _text(page[-1][0])

    async def records(self, tenant: str) -> list[ChainRecord]:
        return [record async for record in self.iterate(tenant)]

    async def trim_before(self, tenant: str, cutoff: float) -> int:
        """Drop the oldest records (body field `at` < cutoff). The first kept record's `prev` becomes the
        anchor: verification still detects any change to what is kept."""
        doomed: list[str] = []
        async for record in self.iterate(tenant):
            if float(record.body.get("at", cutoff)) >= cutoff:
                break
            doomed.append(record.entry_id)
        if doomed:
            await self._redis.xdel(self._stream(tenant), *doomed)
        return len(doomed)

    async def verify(self, tenant: str) -> ChainCheck:
        prev: str | None = None
        records = await self.records(tenant)
        for record in records:
            body = _body(record.body)
            linked = prev is None or record.prev == prev
            if not linked or _link(record.prev, body) != record.hash:
                return ChainCheck(False, len(records), record.entry_id)
            prev = record.hash
        head = await self._redis.get(self._stream(tenant) + ":head")
        if records and (head is None or _text(head) != prev):  # the newest records were cut off
            return ChainCheck(False, len(records), records[-1].entry_id)
        return ChainCheck(True, len(records))


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerEvent:
    """One change of one purpose (or overlay) for one subject. Evidence only: never message content."""

    subject: str
    purpose: str  # a Purpose, or "*" for an overlay that covers every purpose
    state: str
    previous: str
    method: Method
    channel: str  # "whatsapp", "call", "admin", "cli"
    evidence: str | None  # inbound (or, for a notice, outbound) message id
    actor: str  # "subject", "meta", "tenant:<id>", "operator"
    at: float
    config_version: str
    notice_version: str | None = None
    notice_sha256: str | None = None
    expires_at: float | None = None  # a grant that lapses then (Meta's temporary call permission)
    given_at: float | None = None  # when the person (or admin) gave the signal; `at` is when it was recorded
    wanted: str | None = None  # for a `superseded` event: the state the older signal asked for


@dataclass(frozen=True, slots=True)
class Signal:
    """When a consent change was given, and the id of the message (or Meta event) that carried it. `id` None:
    an admin, API or CLI change, given now, never a redelivery."""

    given_at: float
    id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """Who and what caused a change; the ledger copies it into each event."""

    method: Method
    channel: str
    actor: str
    config_version: str
    evidence: str | None = None


class ConsentStore:
    """Current consent per subject plus its evidence. A signal's state change and its evidence are written in
    one transaction (the evidence into the subject's outbox, same slot), then moved into the tenant's ledger;
    an outbox a crash left behind is flushed by the subject's next change: never a change without evidence.
    Notices and overlays are written the same way."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        shards: int,
        clock: Callable[[], float] = time.time,
        ledger: HashChain | None = None,
    ) -> None:
        self._redis = redis
        self._shards = shards
        self._clock = clock
        self.ledger = ledger or HashChain(redis, "ledger")
        self._unlock = redis.register_script(_UNLOCK)

    def _key(self, subject: str) -> str:
        return conversation_key(subject, "consent", self._shards)

    async def current(self, subject: str) -> SubjectConsent:
        consent, _ = await self.snapshot(subject)
        return consent

    async def snapshot(self, subject: str) -> tuple[SubjectConsent, bool]:
        """The subject's consent and whether its tenant is frozen, in one round trip (the guard's read)."""
        tenant = tenant_of(subject)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key(subject))
            pipe.sismember(tenant_key(tenant, "suppressed"), subject)
            pipe.exists(tenant_key(tenant, "terminated"))
            raw, suppressed, terminated = await pipe.execute()
        fields = {_text(k): _text(v) for k, v in raw.items()}
        return _parse(fields, suppressed=bool(suppressed)), bool(terminated)

    async def apply(
        self,
        subject: str,
        change: Transition | Callable[[SubjectConsent], Transition],
        context: Context,
        *,
        signal: Signal | None = None,
        covers: Collection[Purpose] | None = None,
        fence: Fence | None = None,
    ) -> list[LedgerEvent]:
        """Record and apply a transition (or one computed from the current consent, for an intent); returns
        the events written: none when nothing changed or the signal was a duplicate, `superseded` ones for
        purposes a newer signal already decided. `covers`: the purposes whose order this signal sets (by
        default, those the transition changes). `fence`: a turn's; raises `ErasedError` (writing nothing)
        once the person was erased, or an erasure runs or is pending, since the turn began."""
        signal = signal or Signal(self._clock())
        # WhatsApp stamps messages in whole seconds: compared at that resolution, and within one second the
        # signal that arrives later wins (an admin change and a STOP in the same second: the STOP).
        given_at = float(int(signal.given_at))
        key, outbox = self._key(subject), self._key(subject) + ":outbox"
        seen = self._signal_key(subject, signal.id) if signal.id is not None else None
        epoch = epoch_key(subject, self._shards)
        watched = [key, *([seen] if seen else []), *([epoch] if fence else [])]  # the subject's slot
        await self._flush(tenant_of(subject), outbox)  # evidence a crashed writer left behind
        while True:
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(*watched)
                    # GET, not EXISTS: a cluster pipeline queues multi-key commands (EXISTS) even under WATCH
                    if seen is not None and await pipe.get(seen) is not None:
                        return []  # deduped by its message id before anything is applied
                    fields = await _fenced_fields(pipe, key, epoch, fence)
                    before = _parse(fields)
                    wanted = change(before) if callable(change) else change
                    plan = _plan(before, fields, wanted, given_at, covers)
                    events = self._plan_events(subject, before, wanted, plan, context, given_at)
                    bodies = [_body(_record(event)) for event in events]
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if plan.fields:
                        pipe.hset(key, items=plan.fields)
                    if plan.lapsed:  # a new state without a time limit replaces a time-limited grant
                        pipe.hdel(key, *plan.lapsed)
                    if seen is not None:
                        outcome = SUPERSEDED if plan.superseded and not plan.applied else "applied"
                        pipe.set(seen, outcome, ex=SIGNAL_DEDUPE_S)
                    if bodies:  # the evidence, in the same transaction as the change it records
                        pipe.rpush(outbox, *bodies)
                    await pipe.execute()
                except WatchError:
                    continue  # another signal for this person landed first: decide again against it
            break
        if bodies:  # then into the tenant's hash chain (another slot)
            await self._flush(tenant_of(subject), outbox)
        if Overlay.ERASURE_PENDING in plan.overlays:
            await self._redis.sadd(tenant_key(tenant_of(subject), "erasures"), subject)
        return events

    async def _flush(self, tenant: str, outbox: str) -> None:
        """Moves a subject's evidence from its outbox into the ledger, oldest first, one flusher at a time (a
        short lock); a record leaves the outbox only once it is in the ledger, so a failure in between keeps
        it for the next flush."""
        lock = outbox + ":lock"
        while await self._redis.llen(outbox):
            token = os.urandom(8).hex()
            if not await self._redis.set(lock, token, nx=True, px=_FLUSH_LOCK_MS):
                await asyncio.sleep(0.005)  # another writer is flushing this subject's outbox
                continue
            try:  # only the lock holder takes from the head; writers only push to the tail
                if pending := [_text(raw) for raw in await self._redis.lrange(outbox, 0, -1)]:
                    await self.ledger.append_bodies(tenant, pending)
                    await self._redis.ltrim(outbox, len(pending), -1)
            finally:
                await self._unlock(keys=[lock], args=[token])

    async def signal_outcome(self, subject: str, signal_id: str) -> str | None:
        """What became of a signal seen before: "applied", "superseded", or None if never seen."""
        raw = await self._redis.get(self._signal_key(subject, signal_id))
        return _text(raw) if raw is not None else None

    def _signal_key(self, subject: str, signal_id: str) -> str:
        digest = hashlib.sha256(signal_id.encode()).hexdigest()[:32]  # bounded, whatever the id's length
        return conversation_key(subject, f"signal:{digest}", self._shards)

    def _plan_events(
        self,
        subject: str,
        before: SubjectConsent,
        change: Transition,
        plan: _Plan,
        context: Context,
        given_at: float,
    ) -> list[LedgerEvent]:
        now = self._clock()
        applied = [
            self._event(subject, p.value, s.value, before.state(p).value, context, now,
                        expires_at=change.expires.get(p), given_at=given_at)
            for p, s in plan.applied.items()
        ]  # fmt: skip
        superseded = [
            self._event(subject, p.value, SUPERSEDED, before.state(p).value, context, now, given_at=given_at,
                        wanted=change.states[p].value if p in change.states else None)
            for p in sorted(plan.superseded)
        ]  # fmt: skip
        overlays = [
            self._event(subject, "*", o.value, "", context, now, given_at=given_at) for o in plan.overlays
        ]
        return applied + superseded + overlays

    async def set_overlay(
        self, subject: str, overlay: Overlay, active: bool, context: Context, *, fence: Fence | None = None
    ) -> bool:
        """Restriction and objection (admin/CLI); returns False when it was already so. The read, the decision
        and the write are one transaction (`_transact`), so two racing calls record one event. `fence`: raises
        `ErasedError` (writing nothing) once the person was erased, or an erasure runs or is pending, since
        the fence was read."""
        key, field = self._key(subject), f"o:{overlay.value}"

        def decide(fields: Mapping[str, str]) -> _Change | None:
            if (field in fields) == active:
                return None
            state, previous = (overlay.value, "") if active else ("lifted", overlay.value)
            event = self._event(subject, "*", state, previous, context, self._clock())
            if active:
                return _Change([event], lambda pipe: pipe.hset(key, field, "1"))
            return _Change([event], lambda pipe: pipe.hdel(key, field))

        return await self._transact(subject, fence, decide) is not None

    async def record_notice(
        self, subject: str, notice: Notice, context: Context, *, fence: Fence | None = None
    ) -> list[LedgerEvent]:
        """The disclosure went out (`context.evidence` = its outbound message id). With a turn's `fence`, a
        person erased since the turn began gets no consent state back (raises `ErasedError`).

        The disclosure is recorded after its send, so a STOP can land meanwhile: the read, the decision and the
        write are one transaction (`_transact`), so `noticed` never overwrites that STOP."""
        key = self._key(subject)

        def decide(fields: Mapping[str, str]) -> _Change:
            before, now = _parse(fields), self._clock()
            change = noticed(before)
            events = [
                self._event(subject, p.value, State.NOTICED.value, before.state(p).value, context, now,
                            notice=notice)
                for p in change.states
            ] or [self._event(subject, Purpose.REPLY.value, "renoticed", before.state(Purpose.REPLY).value,
                              context, now, notice=notice)]  # fmt: skip
            items = [x for p, s in change.states.items() for x in (f"p:{p.value}", s.value)]
            return _Change(events, lambda pipe: pipe.hset(key, items=[*items, "noticed_at", repr(now)]))

        done = await self._transact(subject, fence, decide)
        return done.events if done else []

    async def _transact(
        self, subject: str, fence: Fence | None, decide: Callable[[Mapping[str, str]], _Change | None]
    ) -> _Change | None:
        """Reads the subject's consent hash under WATCH (checking `fence`), decides, and writes the decision
        and its evidence (into the outbox, same slot) in one MULTI; when another writer landed first, decides
        again against it. Then the evidence goes into the ledger. None: nothing to change."""
        key, outbox = self._key(subject), self._key(subject) + ":outbox"
        epoch = epoch_key(subject, self._shards)
        await self._flush(tenant_of(subject), outbox)
        while True:
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key, *([epoch] if fence else []))
                    change = decide(await _fenced_fields(pipe, key, epoch, fence))
                    if change is None:
                        return None
                    pipe.multi()  # type: ignore[no-untyped-call]
                    change.write(pipe)
                    pipe.rpush(outbox, *(_body(_record(event)) for event in change.events))
                    await pipe.execute()
                except WatchError:
                    continue  # a change for this person landed meanwhile: decide again against it
            break
        await self._flush(tenant_of(subject), outbox)
        return change

    async def events_of(self, subject: str) -> list[dict[str, Any]]:
        """The subject's ledger events (for export and status), oldest first."""
        records = await self.ledger.records(tenant_of(subject))
        return [r.body | {"hash": r.hash} for r in records if r.body.get("subject") == subject]

    async def suppress(self, subject: str) -> None:
        await self._redis.sadd(tenant_key(tenant_of(subject), "suppressed"), subject)

    async def forget(self, subject: str) -> None:
        """Erasure done: the state goes; the content-free suppression record and ledger evidence stay."""
        await self._redis.delete(self._key(subject))
        await self._redis.srem(tenant_key(tenant_of(subject), "erasures"), subject)

    async def pending_erasures(self, tenant: str) -> list[str]:
        return sorted(_text(m) for m in await self._redis.smembers(tenant_key(tenant, "erasures")))

    async def terminated_at(self, tenant: str) -> float | None:
        raw = await self._redis.get(tenant_key(tenant, "terminated"))
        return float(_text(raw)) if raw is not None else None

    def _event(
        self,
        subject: str,
        purpose: str,
        state: str,
        previous: str,
        context: Context,
        at: float,
        *,
        notice: Notice | None = None,
        expires_at: float | None = None,
        given_at: float | None = None,
        wanted: str | None = None,
    ) -> LedgerEvent:
        return LedgerEvent(
            subject=subject,
            purpose=purpose,
            state=state,
            previous=previous,
            method=context.method,
            channel=context.channel,
            evidence=context.evidence,
            actor=context.actor,
            at=at,
            config_version=context.config_version,
            notice_version=notice.version if notice else None,
            notice_sha256=notice.sha256 if notice else None,
            expires_at=expires_at,
            given_at=at if given_at is None else given_at,
            wanted=wanted,
        )


@dataclass(frozen=True, slots=True)
class _Change:
    """One decision on a subject's consent hash: its evidence, and the commands that write it (queued on the
    transaction)."""

    events: list[LedgerEvent]
    write: Callable[[Any], object]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one signal does to one subject's consent hash."""

    applied: dict[Purpose, State]  # states that change
    superseded: frozenset[Purpose]  # a newer signal already decided these: nothing changes
    overlays: frozenset[Overlay]
    fields: list[str]  # flat field/value pairs to write
    lapsed: list[str]  # fields to delete


def _parse(fields: Mapping[str, str], *, suppressed: bool = False) -> SubjectConsent:
    states = {Purpose(k[2:]): State(v) for k, v in fields.items() if k.startswith("p:")}
    overlays = frozenset(Overlay(k[2:]) for k in fields if k.startswith("o:"))
    noticed_at = float(fields["noticed_at"]) if "noticed_at" in fields else None
    expires = {Purpose(k[2:]): float(v) for k, v in fields.items() if k.startswith("x:")}
    return SubjectConsent(states, overlays, noticed_at, suppressed, expires)


def _plan(
    before: SubjectConsent,
    fields: Mapping[str, str],
    change: Transition,
    given_at: float,
    covers: Collection[Purpose] | None,
) -> _Plan:
    covered = set(change.states) | set(covers or ())
    superseded = frozenset(p for p in covered if float(fields.get(f"t:{p.value}", "-inf")) > given_at)
    applied = {
        p: s
        for p, s in change.states.items()
        if p not in superseded
        and (before.state(p) is not s or before.expires.get(p) != change.expires.get(p))  # a renewed grant
    }
    overlays = change.add_overlays - before.overlays
    out = [x for p, s in applied.items() for x in (f"p:{p.value}", s.value)]
    out += [x for p in applied if p in change.expires for x in (f"x:{p.value}", repr(change.expires[p]))]
    out += [x for p in covered - superseded for x in (f"t:{p.value}", repr(given_at))]
    out += [x for o in overlays for x in (f"o:{o.value}", "1")]
    lapsed = [f"x:{p.value}" for p in applied if p not in change.expires and p in before.expires]
    return _Plan(applied, superseded, overlays, out, lapsed)


def _record(event: LedgerEvent) -> dict[str, Any]:
    return {k: v.value if isinstance(v, Method) else v for k, v in asdict(event).items()}


class ConsentGuard:
    """`may(tenant, subject, purpose)`: the only way code decides, checked right before each side effect."""

    def __init__(
        self, store: ConsentStore, tenants: TenantRegistry, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._tenants = tenants
        self._clock = clock

    async def may(self, tenant: str, subject: str, purpose: Purpose) -> Decision:
        if tenant_of(subject) != tenant:
            return Decision(False, "other_tenant")
        config = self._tenants.get(tenant).config
        consent, frozen = await self._store.snapshot(subject)
        return may(consent, purpose, config.consent.policy(), frozen=frozen, now=self._clock())


async def _fenced_fields(pipe: Any, key: str, epoch: str, fence: Fence | None) -> dict[str, str]:
    """The consent hash, read under WATCH; raises `ErasedError` when `fence` no longer holds."""
    fields = {_text(k): _text(v) for k, v in (await pipe.hgetall(key)).items()}
    if fence is not None and _fenced_out(fence, await pipe.get(epoch), fields):
        raise ErasedError
    return fields


def _fenced_out(fence: Fence, epoch: bytes | str | None, fields: Mapping[str, str]) -> bool:
    """The check of `agent.storage.erasure.FENCE_PRELUDE`, on values read under WATCH."""
    now = int(_text(epoch)) if epoch is not None else 0
    return now != fence.epoch or now % 2 == 1 or PENDING_FIELD in fields
