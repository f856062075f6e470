"""The consent and privacy parts of a process, built together (by agent/services.py, and by tests)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.privacy.gate import ConsentGate, IngressConsent, Keywords
from agent.privacy.identities import Identities
from agent.privacy.ledger import ConsentGuard, ConsentStore
from agent.privacy.records import ContentLog, ProcessingLog
from agent.privacy.retention import Retention
from agent.privacy.rights import Recipient, SubjectRights
from agent.privacy.subjects import Subjects
from agent.storage.handoff import HandoffFlags

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from agent.settings import Settings
    from agent.storage.conversations import ConversationStore
    from agent.storage.keyring import Keyring
    from agent.storage.redis_client import RedisClient
    from agent.tenants.registry import TenantRegistry

_PHONE = re.compile(r"\+?[\d\s\-().]{6,}")


def user_key(raw: str) -> str:
    """A number as typed ("+91 98765-43210") becomes Meta's wa_id ("919876543210"); a BSUID stays as is."""
    raw = raw.strip()
    return re.sub(r"\D", "", raw) if _PHONE.fullmatch(raw) else raw


def recipients(settings: Settings) -> list[Recipient]:
    """Who receives personal data in this deployment (for `processing_summary.json`)."""
    out = [Recipient("Meta Platforms (WhatsApp Cloud API)", "sub-processor", "deliver messages and media")]
    if settings.llm_base_url is not None:
        host = settings.llm_base_url.host or "configured endpoint"
        out.append(
            Recipient(f"LLM provider at {host}", "sub-processor", "produce replies from minimized text")
        )
    if settings.tts_engine == "openai":
        out.append(Recipient("OpenAI (speech synthesis)", "sub-processor", "speak replies"))
    return out


@dataclass(frozen=True, slots=True)
class Privacy:
    consent: ConsentStore
    guard: ConsentGuard
    content: ContentLog
    processing: ProcessingLog
    rights: SubjectRights
    gate: ConsentGate
    ingress: IngressConsent
    retention: Retention
    store: ConversationStore
    keyring: Keyring
    identities: Identities

    @classmethod
    def build(
        cls,
        redis: RedisClient,
        store: ConversationStore,
        keyring: Keyring,
        tenants: TenantRegistry,
        *,
        shards: int,
        recipients: Sequence[Recipient] = (),
        clock: Callable[[], float] = time.time,
    ) -> Privacy:
        consent = ConsentStore(redis, shards=shards, clock=clock)
        guard = ConsentGuard(consent, tenants, clock=clock)
        content = ContentLog(redis, store, shards=shards, clock=clock)
        processing = ProcessingLog(redis, clock=clock)
        rights = SubjectRights(
            redis,
            store,
            consent,
            content,
            processing,
            tenants,
            shards=shards,
            recipients=recipients,
            clock=clock,
        )
        handoff = HandoffFlags(redis, shards=shards)
        gate = ConsentGate(consent, guard, handoff, content, processing, tenants, rights, clock=clock)
        retention = Retention(
            redis,
            consent,
            content,
            processing,
            rights,
            tenants,
            shards=shards,
            key_store=store.key_store,
            clock=clock,
        )
        ingress = IngressConsent(consent, Keywords(tenants), tenants)
        subjects = Subjects(redis, keyring, shards=shards, key_store=store.key_store)
        identities = Identities(redis, subjects)
        return cls(
            consent, guard, content, processing, rights, gate, ingress, retention, store, keyring, identities
        )

    def subject(self, tenant: str, user: str) -> str:
        """The subject key `user` derives to by itself (no alias looked up): a person first seen under it."""
        return self.keyring.conversation_ref(tenant, user_key(user))

    async def resolve(self, tenant: str, user: str) -> str:
        """The person's subject whichever id names them (also when first seen under an earlier master key,
        docs/privacy.md), or for a person never seen the reference their id derives to."""
        return await self.identities.known_or_derived(tenant, user_key(user))

    async def lookup(self, tenant: str, user: str) -> tuple[str, bool]:
        """The subject of the person `user` (a number as typed, or a BSUID) names, whichever id it is, and
        whether they are known at all (if not: the key the id derives to, with nothing stored under it)."""
        found = await self.identities.find(tenant, user_key(user))
        return (found, True) if found is not None else (self.subject(tenant, user), False)

    async def person(self, tenant: str, user: str) -> str:
        """`lookup`, for what must act on a known person; raises `UnknownPersonError` otherwise."""
        subject, known = await self.lookup(tenant, user)
        if not known:
            raise UnknownPersonError
        return subject

    async def enrol(self, tenant: str, user: str) -> str:
        """The subject `user` names, recorded if new: a restriction, an objection or a consent the business
        collected itself may come before the person's first message, and must hold when it arrives."""
        return await self.identities.subject(tenant, user_key(user))


class UnknownPersonError(LookupError):
    """No person is known under this number or BSUID for this tenant (the id itself is not echoed)."""

    def __init__(self) -> None:
        super().__init__("no person known under this number or BSUID for this tenant")
