"""Data-subject rights: status, export (access + portability), erasure, restriction, objection, rectification.

One class serves the CLI and the admin API; every call is written to the tenant's hash-chained audit log
(actor, action, subject key, outcome, counts: never content). A subject is `Keyring.conversation_ref`.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from agent.privacy.ledger import ConsentStore, Context, HashChain
from agent.storage.erasure import Epochs, ErasedError
from agent.storage.keyring import SealError
from agent.storage.keys import (
    EPOCH_TTL_S,
    Fate,
    conversation_key,
    subject_entries,
    subject_fate,
    subject_pattern,
    tenant_key,
    tenant_of,
)
from agent.storage.streams import drop_entries
from pipelines.consent import Intent, Method, Overlay, Purpose, may, transition

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from agent.privacy.records import ContentLog, ProcessingLog
    from agent.storage.conversations import ConversationStore
    from agent.storage.redis_client import RedisClient
    from agent.tenants.registry import TenantRegistry

EXPORT_SCHEMA = "leadclose.export/1"


class ProfileFields(BaseModel):
    """Profile fields a person may have corrected (rectification); stored sealed with their data key."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str | None = Field(None, max_length=200)
    language: str | None = Field(None, pattern=r"^[a-z]{2}$")
    email: str | None = Field(None, max_length=320)
    city: str | None = Field(None, max_length=200)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who receives personal data and why (for `processing_summary.json`)."""

    name: str
    role: str
    purpose: str


@dataclass(frozen=True, slots=True)
class Actor:
    """Who exercised the right: `operator` (CLI), `tenant:<id>` (admin API), `subject` (a keyword)."""

    name: str
    channel: str


@dataclass(frozen=True, slots=True)
class OverlayAction:
    """How setting and lifting an overlay are named in the audit log (and the admin API's paths)."""

    set: str
    lift: str


OVERLAY_ACTIONS = {
    Overlay.RESTRICTED: OverlayAction("restrict", "lift_restriction"),
    Overlay.OBJECTED: OverlayAction("object", "lift_objection"),
}


@dataclass(frozen=True, slots=True)
class Erasure:
    subject: str
    keys_deleted: int
    content_entries: int


class SubjectRights:
    def __init__(
        self,
        redis: RedisClient,
        store: ConversationStore,
        consent: ConsentStore,
        content: ContentLog,
        processing: ProcessingLog,
        tenants: TenantRegistry,
        *,
        shards: int,
        recipients: Sequence[Recipient] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._store = store
        self._consent = consent
        self._content = content
        self._processing = processing
        self._tenants = tenants
        self._shards = shards
        self._recipients = tuple(recipients)
        self._clock = clock
        self.audit = HashChain(redis, "audit")
        self._epochs = [Epochs(redis, shards=shards)]
        if store.key_store is not redis:  # the key store keeps its own copy: a data key's creation checks it
            self._epochs.append(Epochs(store.key_store, shards=shards))

    async def _audited(
        self,
        tenant: str,
        actor: Actor,
        action: str,
        subject: str | None,
        outcome: str,
        counts: dict[str, int],
        diff: str | None = None,
    ) -> None:
        """One audit record, the same shape for every access: who, what, whose key, outcome, counts (and for
        a configuration change, its diff)."""
        record = {
            "actor": actor.name,
            "channel": actor.channel,
            "action": action,
            "subject": subject,
            "outcome": outcome,
            "at": self._clock(),
            "counts": counts,
        }
        await self.audit.append(tenant, record if diff is None else record | {"diff": diff})

    async def record_access(
        self, actor: Actor, action: str, subject: str, outcome: str, **counts: int
    ) -> None:
        await self._audited(tenant_of(subject), actor, action, subject, outcome, counts)

    async def record_denied(self, tenant: str, actor: Actor, action: str, outcome: str = "denied") -> None:
        """A refused admin access is audited too (no subject: nothing was looked up); `outcome` says how
        (`denied`, `throttled`)."""
        await self._audited(tenant, actor, action, None, outcome, {})

    async def record_change(
        self, tenant: str, actor: Actor, action: str, outcome: str, *, diff: str, **counts: int
    ) -> None:
        """A change of the tenant's configuration (a publish, a rollback) with the diff of its files: business
        configuration text, not personal data."""
        await self._audited(tenant, actor, action, None, outcome, counts, diff)

    async def read_audit(self, tenant: str, actor: Actor) -> tuple[list[dict[str, Any]], bool]:
        """The tenant's audit log and whether its chain verifies; the reading is audited after it."""
        records = [r.body | {"hash": r.hash} for r in await self.audit.records(tenant)]
        verified = (await self.audit.verify(tenant)).ok
        await self._audited(tenant, actor, "read_audit", None, "ok", {"records": len(records)})
        return records, verified

    def _context(self, subject: str, actor: Actor) -> Context:
        tenant = self._tenants.get(tenant_of(subject)).config
        return Context(
            method=Method.ADMIN,
            channel=actor.channel,
            actor=actor.name,
            config_version=tenant.consent_version,
        )

    # -- access --------------------------------------------------------------------------------------------

    async def status(self, subject: str, actor: Actor) -> dict[str, Any]:
        tenant = self._tenants.get(tenant_of(subject)).config
        consent = await self._consent.current(subject)
        frozen = await self._consent.terminated_at(tenant.id) is not None
        policy, now = tenant.consent.policy(), self._clock()
        out = {
            "subject": subject,
            "states": {p.value: consent.state(p).value for p in Purpose},
            "overlays": sorted(o.value for o in consent.overlays),
            "suppressed": consent.suppressed,
            "noticed_at": consent.noticed_at,
            "decisions": {p.value: may(consent, p, policy, frozen=frozen, now=now).reason for p in Purpose},
            "allowed": sorted(p.value for p in Purpose if may(consent, p, policy, frozen=frozen, now=now)),
            "content_entries": await self._content.count(subject),
            "leads": int(await self._redis.llen(conversation_key(subject, "leads", self._shards))),
        }
        await self.record_access(actor, "status", subject, "ok")
        return out

    async def export(self, subject: str, actor: Actor) -> bytes:
        """A ZIP: manifest.json, consents.json, conversations.jsonl, leads.json, profile.json,
        processing_summary.json. Everything readable is in it; what the data key no longer opens is not."""
        tenant = self._tenants.get(tenant_of(subject)).config
        consent = await self._consent.current(subject)
        try:
            entries = [asdict(e) for e in await self._content.entries(subject)]
            leads = await self._leads(subject)
            profile = await self._profile(subject)
        except SealError:  # erased meanwhile: nothing of it can be read any more
            entries, leads, profile = [], [], {}
        files: dict[str, bytes] = {
            "consents.json": _json(
                {
                    "current": {
                        "states": {p.value: consent.state(p).value for p in Purpose},
                        "overlays": sorted(o.value for o in consent.overlays),
                        "suppressed": consent.suppressed,
                        "noticed_at": consent.noticed_at,
                    },
                    "events": await self._consent.events_of(subject),
                }
            ),
            "conversations.jsonl": b"".join(_json(e, indent=None) + b"\n" for e in entries),
            "leads.json": _json(leads),
            "profile.json": _json(profile),
            "processing_summary.json": _json(
                {
                    "controller": tenant.name,
                    "purposes": {
                        p.value: {
                            "state": consent.state(p).value,
                            "basis": _basis(p, tenant.consent.content_basis),
                        }
                        for p in Purpose
                    },
                    "recipients": [asdict(r) for r in self._recipients],
                    "retention_days": {
                        "content": tenant.consent.retention.content_days,
                        "processing_records": tenant.consent.retention.processing_days,
                        "audit_log": tenant.consent.retention.audit_days,
                        "consent_evidence": "kept while the account lasts, deleted with it",
                    },
                    "processing_records": len(await self._processing.records(tenant.id, subject)),
                    "llm_inputs": "minimized (PII replaced by placeholders) and sent only to produce a reply",
                }
            ),
        }
        manifest = {
            "schema": EXPORT_SCHEMA,
            "subject": subject,
            "generated_at": self._clock(),
            "sources": ["consent ledger", "T2 content log", "leads", "profile", "T0 processing ledger"],
            "counts": {
                "consent_events": len(json.loads(files["consents.json"])["events"]),
                "conversation_entries": len(entries),
                "leads": len(leads),
                "media": 0,  # audio is never retained
            },
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", _json(manifest))
            for name, data in files.items():
                archive.writestr(name, data)
        await self.record_access(actor, "export", subject, "ok", entries=len(entries), leads=len(leads))
        return buffer.getvalue()

    async def _leads(self, subject: str) -> list[Any]:
        raw = await self._redis.lrange(conversation_key(subject, "leads", self._shards), 0, -1)
        return [json.loads(await self._store.open(subject, _bytes(item))) for item in raw]

    async def _profile(self, subject: str) -> dict[str, Any]:
        sealed = await self._redis.get(conversation_key(subject, "profile", self._shards))
        if sealed is None:
            return {}
        loaded: dict[str, Any] = json.loads(await self._store.open(subject, _bytes(sealed)))
        return loaded

    # -- rectification, restriction, objection ----------------------------------------------------------

    async def rectify(self, subject: str, fields: ProfileFields, actor: Actor) -> dict[str, Any]:
        profile = await self._profile(subject) | fields.model_dump(exclude_none=True)
        sealed = await self._store.seal(subject, json.dumps(profile).encode())
        await self._redis.set(conversation_key(subject, "profile", self._shards), sealed)
        await self.record_access(
            actor, "rectify", subject, "ok", fields=len(fields.model_dump(exclude_none=True))
        )
        return profile

    async def set_overlay(self, subject: str, overlay: Overlay, actor: Actor, *, lift: bool = False) -> bool:
        """Restriction and objection are one mechanism: an overlay that stops processing until lifted.
        Returns whether the state changed (setting it twice is audited as `unchanged`). Fenced like a turn's
        consent writes: while an erasure of the person runs or is pending it raises `ErasedError` (audited
        `erasing`), so it never brings back the consent hash the erasure deletes."""
        action = OVERLAY_ACTIONS[overlay]
        name = action.lift if lift else action.set
        fence = await self._epochs[0].current(subject)
        context = self._context(subject, actor)
        try:
            changed = await self._consent.set_overlay(subject, overlay, not lift, context, fence=fence)
        except ErasedError:
            await self.record_access(actor, name, subject, "erasing")
            raise
        await self.record_access(actor, name, subject, "ok" if changed else "unchanged")
        return changed

    async def restrict(self, subject: str, actor: Actor, *, lift: bool = False) -> bool:
        return await self.set_overlay(subject, Overlay.RESTRICTED, actor, lift=lift)

    async def object(self, subject: str, actor: Actor, *, lift: bool = False) -> bool:
        return await self.set_overlay(subject, Overlay.OBJECTED, actor, lift=lift)

    # -- erasure ----------------------------------------------------------------------------------------

    async def erase(self, subject: str, actor: Actor) -> Erasure:
        """Stop processing, delete every live key of the subject and its data key (so copies in the AOF or
        backups cannot be decrypted), keep a content-free suppression record, audit a proof event.

        The erasure epoch goes odd first (every fenced write of a turn in flight refuses from then on) and
        even last, one past where it began: a turn that started before the erasure never writes or sends
        after it. Safe to run again after a crash (the subject stays in the pending set until the end)."""
        consent = await self._consent.current(subject)
        change = transition(consent, Intent.DELETE_DATA)
        await self._consent.apply(subject, change, self._context(subject, actor))
        epoch = await self._epochs[0].begin(subject)
        for copy in self._epochs[1:]:
            await copy.raise_to(subject, epoch)
        entries = await self._content.count(subject)
        deleted = await self._delete_keys(self._redis, subject)
        if self._store.key_store is not self._redis:
            deleted += await self._delete_keys(self._store.key_store, subject)
        for shared in subject_entries(subject, self._shards):  # shared streams: dead letters, call events
            deleted += await drop_entries(self._redis, shared)
        await self._redis.zrem(tenant_key(tenant_of(subject), "t2index"), subject)
        records = await self._processing.forget(tenant_of(subject), subject)
        await self._consent.suppress(subject)
        await self._consent.forget(subject)
        for epochs in self._epochs:
            await epochs.end(subject, epoch)
        await self._redis.expire(conversation_key(subject, "fence", self._shards), EPOCH_TTL_S)
        await self.record_access(
            actor,
            "erase",
            subject,
            "erased",
            keys=deleted,
            content_entries=entries,
            processing_records=records,
        )
        return Erasure(subject, deleted, entries)

    async def _delete_keys(self, redis: RedisClient, subject: str) -> int:
        """The person's keys the key layout says erasure deletes (agent/storage/keys.py): not the counters
        a turn in flight still needs, nor the consent hash (`forget` removes it after the ledger event)."""
        prefix_len = len(conversation_key(subject, "", self._shards))
        doomed = [
            key
            async for key in redis.scan_iter(match=subject_pattern(subject, self._shards), count=200)
            if subject_fate(_bytes(key)[prefix_len:].decode()) is Fate.DELETE
        ]
        return int(await redis.delete(*doomed)) if doomed else 0


def _basis(purpose: Purpose, content_basis: str) -> str:
    if purpose is Purpose.REPLY:
        return "the person's request (after the AI disclosure)"
    if purpose is Purpose.RETAIN_CONTENT:
        return str(content_basis)
    return "consent"


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _json(value: Any, indent: int | None = 2) -> bytes:
    return json.dumps(value, indent=indent, ensure_ascii=False, sort_keys=True).encode()
