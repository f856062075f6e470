"""Consent on Redis: the hash-chained evidence ledger, each subject's current state, suppression, the guard.

Key layout (per tenant keys share the hash tag `{tenant}` so each chained append touches one slot; per
subject keys live beside the conversation's queue keys):

    lc:tenant:{T}:ledger        stream  consent evidence (append-only, hash-chained)
    lc:tenant:{T}:ledger:head   string  hash of the last ledger record
    lc:tenant:{T}:suppressed    set     subject keys erased once: marketing never resumes on its own
    lc:tenant:{T}:erasures      set     subjects whose erasure is pending
    lc:tenant:{T}:terminated    string  when the tenant's account ended (frozen from then on)
    lc:{n}:c:<subject>:consent  hash    p:<purpose> → state, o:<overlay> → 1, noticed_at

Nothing here holds message content; subject keys are `Keyring.conversation_ref` values (an HMAC).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from redis.exceptions import WatchError

from agent.queue import conversation_key
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
    from collections.abc import AsyncIterator, Callable, Mapping

    from agent.redis_client import RedisClient
    from agent.tenants import TenantRegistry

GENESIS = "0" * 64
_PAGE = 500


def tenant_key(tenant: str, suffix: str) -> str:
    return f"lc:tenant:{{{tenant}}}:{suffix}"


def tenant_of(subject: str) -> str:
    return subject.split(":", 1)[0]


def glob_escape(text: str) -> str:
    """`text` as a literal inside a Redis SCAN MATCH pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


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
        body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        stream, head = self._stream(tenant), self._stream(tenant) + ":head"
        while True:
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(head)
                    prev = _text(await pipe.get(head) or GENESIS)
                    digest = _link(prev, body)
                    pipe.multi()  # type: ignore[no-untyped-call]
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
            body = json.dumps(record.body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """Who and what caused a change; the ledger copies it into each event."""

    method: Method
    channel: str
    actor: str
    config_version: str
    evidence: str | None = None


class ConsentStore:
    """Current consent per subject plus its evidence. Ledger first, then state: a crash between the two
    leaves evidence of a change that the next identical change records again, never a change without it."""

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
        states = {Purpose(k[2:]): State(v) for k, v in fields.items() if k.startswith("p:")}
        overlays = frozenset(Overlay(k[2:]) for k in fields if k.startswith("o:"))
        noticed_at = float(fields["noticed_at"]) if "noticed_at" in fields else None
        expires = {Purpose(k[2:]): float(v) for k, v in fields.items() if k.startswith("x:")}
        return SubjectConsent(states, overlays, noticed_at, bool(suppressed), expires), bool(terminated)

    async def apply(self, subject: str, change: Transition, context: Context) -> list[LedgerEvent]:
        """Record and apply a transition; returns the events written (none when nothing changed)."""
        before = await self.current(subject)
        now = self._clock()
        states = {
            p: s
            for p, s in change.states.items()
            if before.state(p) is not s or before.expires.get(p) != change.expires.get(p)  # a renewed grant
        }
        overlays = change.add_overlays - before.overlays
        events = [
            self._event(subject, purpose.value, state.value, before.state(purpose).value, context, now,
                        expires_at=change.expires.get(purpose))
            for purpose, state in states.items()
        ] + [self._event(subject, "*", o.value, "", context, now) for o in overlays]  # fmt: skip
        for event in events:
            await self.ledger.append(tenant_of(subject), _record(event))
        fields = [x for p, s in states.items() for x in (f"p:{p.value}", s.value)]
        fields += [
            x for p in states if p in change.expires for x in (f"x:{p.value}", repr(change.expires[p]))
        ]
        fields += [x for o in overlays for x in (f"o:{o.value}", "1")]
        if fields:
            await self._redis.hset(self._key(subject), items=fields)
        lapsed = [f"x:{p.value}" for p in states if p not in change.expires and p in before.expires]
        if lapsed:  # a new state without a time limit replaces a time-limited grant
            await self._redis.hdel(self._key(subject), *lapsed)
        if Overlay.ERASURE_PENDING in overlays:
            await self._redis.sadd(tenant_key(tenant_of(subject), "erasures"), subject)
        return events

    async def set_overlay(self, subject: str, overlay: Overlay, active: bool, context: Context) -> bool:
        """Restriction and objection (admin/CLI); returns False when it was already so."""
        before = await self.current(subject)
        if (overlay in before.overlays) == active:
            return False
        state, previous = (overlay.value, "") if active else ("lifted", overlay.value)
        await self.ledger.append(
            tenant_of(subject), _record(self._event(subject, "*", state, previous, context, self._clock()))
        )
        if active:
            await self._redis.hset(self._key(subject), f"o:{overlay.value}", "1")
        else:
            await self._redis.hdel(self._key(subject), f"o:{overlay.value}")
        return True

    async def record_notice(self, subject: str, notice: Notice, context: Context) -> list[LedgerEvent]:
        """The disclosure went out (`context.evidence` = its outbound message id)."""
        before = await self.current(subject)
        now = self._clock()
        change = noticed(before)
        events = [
            self._event(
                subject, p.value, State.NOTICED.value, before.state(p).value, context, now, notice=notice
            )
            for p in change.states
        ] or [self._event(subject, Purpose.REPLY.value, "renoticed", before.state(Purpose.REPLY).value,
                          context, now, notice=notice)]  # fmt: skip
        for event in events:
            await self.ledger.append(tenant_of(subject), _record(event))
        fields = [x for p, s in change.states.items() for x in (f"p:{p.value}", s.value)]
        await self._redis.hset(self._key(subject), items=[*fields, "noticed_at", repr(now)])
        return events

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
        )


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
        config, _ = self._tenants.get(tenant)
        consent, frozen = await self._store.snapshot(subject)
        return may(consent, purpose, config.consent.policy(), frozen=frozen, now=self._clock())
