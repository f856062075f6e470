"""The consent gate a turn passes through, and what the webhook records before any turn runs.

Order in a turn (agent/messages/handler.py): keywords first (no model has seen the message), then the handoff flag,
then `may(reply)`, then the disclosure for a first contact, then the model; content is written to T2 only
after `may(retain_content)`, and `may(reply)` is asked again right before the send. The webhook already
records opt-outs and delete requests as it accepts them, so a STOP stops a turn of the same person that is
in flight before its send. Every signal carries the time it was given and its message id: it applies once,
and never over a newer signal (agent/privacy/ledger.py).
"""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING

import structlog

from agent.analytics.zone import tenant_zone
from agent.privacy.ledger import SUPERSEDED, ConsentGuard, ConsentStore, Context, Signal
from agent.privacy.records import ContentKind, ContentLog, ProcessingLog, ProcessingRecord, hashed_id
from agent.privacy.rights import Actor
from pipelines.consent import (
    Intent,
    KeywordClassifier,
    KeywordMatch,
    Method,
    Notice,
    Purpose,
    State,
    Transition,
    claims_to_be_human,
    covered,
    needs_disclosure,
    prefaced,
    render_notice,
    transition,
)
from pipelines.language import reply_language
from pipelines.texts import BUSINESS

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.privacy.rights import SubjectRights
    from agent.storage.erasure import Fence
    from agent.storage.handoff import HandoffFlags
    from agent.tenants.registry import Tenant, TenantRegistry
    from agent.whatsapp.payloads import ConsentSignal
    from pipelines.consent import Decision, SubjectConsent

log = structlog.get_logger()

# Data requests a person makes by keyword, as the audit log names them.
_REQUESTS = {Intent.ACCESS_DATA: "request_export", Intent.DELETE_DATA: "request_erasure"}

# Intents the webhook applies on arrival: they must stop work that is already queued or running.
_URGENT = frozenset({Intent.OPT_OUT, Intent.DELETE_DATA})


class Keywords:
    """Each tenant's classifier (defaults + its own words), built once per version of its config (a
    reloaded tenant folder brings a new one)."""

    def __init__(self, tenants: TenantRegistry) -> None:
        self._tenants = tenants
        self._cache: dict[str, tuple[Tenant, KeywordClassifier]] = {}

    def match(self, tenant_id: str, text: str | None) -> KeywordMatch | None:
        if not text:
            return None
        tenant = self._tenants.get(tenant_id).config
        cached = self._cache.get(tenant_id)
        if cached is None or cached[0] is not tenant:
            cached = self._cache[tenant_id] = (tenant, tenant.consent.classifier())
        return cached[1].classify(text)


# What each consent signal from Meta means for the ledger.
_SIGNALS: dict[str, tuple[Purpose, State, Method]] = {
    "marketing_stop": (Purpose.MARKETING, State.WITHDRAWN, Method.META_USER_PREFERENCES),
    "marketing_resume": (Purpose.MARKETING, State.GRANTED, Method.META_USER_PREFERENCES),
    "call_permission_accept": (Purpose.CALLS, State.GRANTED, Method.META_CALL_PERMISSION),
    "call_permission_reject": (Purpose.CALLS, State.DENIED, Method.META_CALL_PERMISSION),
}


class IngressConsent:
    """What the webhook records as it accepts events (before they are durable work)."""

    def __init__(self, store: ConsentStore, keywords: Keywords, tenants: TenantRegistry) -> None:
        self._store = store
        self._keywords = keywords
        self._tenants = tenants

    async def message(
        self, tenant_id: str, subject: str, text: str | None, message_id: str, given_at: float
    ) -> None:
        """A STOP or delete request takes effect as it arrives, in the order given (`given_at`: the message's
        timestamp) and once per message id: a redelivered old STOP after a START changes nothing."""
        match = self._keywords.match(tenant_id, text)
        if match is None or match.intent not in _URGENT:
            return
        await self._store.apply(
            subject,
            lambda consent: transition(consent, match.intent),
            _context(self._tenants.get(tenant_id).config, Method.KEYWORD, message_id),
            signal=Signal(given_at, message_id),
            covers=covered(match.intent),
        )

    async def signal(self, tenant_id: str, subject: str, signal: ConsentSignal) -> None:
        """Meta's marketing preference or call-permission answer becomes a ledger event (if it changes), in
        the order given and once per event."""
        purpose, state, method = _SIGNALS[signal.kind]
        version = self._tenants.get(tenant_id).config.consent_version
        context = Context(
            method=method,
            channel="whatsapp",
            actor="meta",
            config_version=version,
            evidence=signal.message_id,
        )
        expires = {purpose: float(signal.expires_at)} if signal.expires_at and state is State.GRANTED else {}
        # A preference change has no message id: its kind and time identify it (Meta redelivers it as is).
        signal_id = signal.message_id or f"{signal.kind}@{signal.timestamp}"
        await self._store.apply(
            subject,
            Transition({purpose: state}, expires=expires),
            context,
            signal=Signal(float(signal.timestamp), signal_id),
        )


def _context(tenant: Tenant, method: Method, evidence: str | None) -> Context:
    return Context(
        method=method,
        channel="whatsapp",
        actor="subject",
        config_version=tenant.consent_version,
        evidence=evidence,
    )


def disclosure_due(tenant: Tenant, consent: SubjectConsent, now: float, said: str) -> Notice | None:
    """The AI disclosure if a reply now must carry it (first contact, or idle past the tenant's period), in
    the language of `said`."""
    if not needs_disclosure(consent, now, tenant.consent.redisclose_after_s):
        return None
    return _notice(tenant, said)


def disclosure_text(tenant: Tenant, consent: SubjectConsent, now: float, said: str) -> str:
    """`disclosure_due`'s text, "" when none is due: what a voice note says before the reply."""
    notice = disclosure_due(tenant, consent, now, said)
    return notice.text if notice is not None else ""


def with_disclosure(
    tenant: Tenant, consent: SubjectConsent, now: float, reply: str, said: str
) -> tuple[str, Notice | None]:
    """The answer as it is sent, and the disclosure it carries: the disclosure comes first (spoken first in a
    voice note); a reply in which the model claims to be a person is replaced by the disclosure. The worker
    and the demo (for a first-time sender) both send what this returns."""
    notice = disclosure_due(tenant, consent, now, said)
    if claims_to_be_human(reply):
        return (notice or _notice(tenant, said)).text, notice
    return prefaced(notice.text if notice else "", reply), notice


def _notice(tenant: Tenant, said: str) -> Notice:
    texts = tenant.catalogue
    # In the language the person wrote, when there is a disclosure in it (served or not: it is a notice).
    language = reply_language(said, texts.languages, tenant.language).code
    return render_notice(
        texts.get(language).disclosure,
        texts.get(language).language,
        business=tenant.name,
        version=tenant.consent.notice_version,
    )


class ConsentGate:
    """The turn handler's single collaborator for consent, handoff, disclosure and the log tiers."""

    def __init__(
        self,
        store: ConsentStore,
        guard: ConsentGuard,
        handoff: HandoffFlags,
        content: ContentLog,
        processing: ProcessingLog,
        tenants: TenantRegistry,
        rights: SubjectRights,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rights = rights
        self._store = store
        self._guard = guard
        self._handoff = handoff
        self._content = content
        self._processing = processing
        self._tenants = tenants
        self._clock = clock
        self.keywords = Keywords(tenants)

    async def answer_keyword(self, tenant_id: str, subject: str, match: KeywordMatch, message_id: str,
                             method: Method, given_at: float | None = None, *,
                             fence: Fence | None = None) -> str | None:  # fmt: skip
        """Apply the intent (once per message id: the webhook may have applied it already) and return the
        fixed confirmation in the person's language; None when a newer signal superseded it (confirming a
        STOP that changed nothing would mislead). `given_at`: the message's time (default now); `fence`: a
        turn's (raises `ErasedError` for a person erased since it began)."""
        tenant = self._tenants.get(tenant_id).config
        await self._store.apply(
            subject,
            lambda consent: transition(consent, match.intent),
            _context(tenant, method, message_id),
            signal=Signal(self._clock() if given_at is None else given_at, message_id),
            covers=covered(match.intent),
            fence=fence,
        )
        if await self._store.signal_outcome(subject, message_id) == SUPERSEDED:
            return None
        if match.intent is Intent.HUMAN:
            await self._handoff.hand_off(subject, "keyword", fence=fence)
        request = _REQUESTS.get(match.intent)
        if request is not None:  # the business sees the person's request in its audit log (admin API)
            await self._rights.record_access(Actor("subject", "whatsapp"), request, subject, "received")
        await self.processed(tenant_id, subject, ProcessingRecord(
            event="keyword", subject=subject, outcome=match.intent.value, message=hashed_id(message_id),
        ))  # fmt: skip
        text = tenant.catalogue.get(match.language).confirmations[match.intent]
        return text.replace(BUSINESS, tenant.name)

    async def answered(self, tenant_id: str, subject: str, purpose: Purpose, granted: bool, evidence: str,
                       method: Method, *, fence: Fence | None = None) -> None:  # fmt: skip
        """A yes or no to a consent question (a call's recording question) becomes a ledger event. `fence`:
        the call's (raises `ErasedError`, writing nothing, for a caller erased since it began)."""
        tenant = self._tenants.get(tenant_id).config
        state = State.GRANTED if granted else State.DENIED
        await self._store.apply(
            subject,
            Transition({purpose: state}),
            _context(tenant, method, evidence),
            signal=Signal(self._clock(), evidence),  # said during the call, now
            fence=fence,
        )

    async def handed_off(self, subject: str) -> bool:
        return await self._handoff.active(subject)

    async def may(self, tenant_id: str, subject: str, purpose: Purpose) -> Decision:
        return await self._guard.may(tenant_id, subject, purpose)

    async def disclosure(self, tenant_id: str, subject: str, said: str) -> Notice | None:
        """The AI disclosure if this reply must carry it (first contact, or idle past the tenant's period)."""
        tenant = self._tenants.get(tenant_id).config
        return disclosure_due(tenant, await self._store.current(subject), self._clock(), said)

    async def outgoing(
        self, tenant_id: str, subject: str, reply: str, said: str | None
    ) -> tuple[str, Notice | None]:
        """The answer as it is sent, and the disclosure it carries (`with_disclosure`)."""
        tenant = self._tenants.get(tenant_id).config
        consent = await self._store.current(subject)
        if claims_to_be_human(reply):
            log.warning("consent.claimed_human", conv=subject)
        return with_disclosure(tenant, consent, self._clock(), reply, said or "")

    async def disclosed(
        self, tenant_id: str, subject: str, notice: Notice, outbound_id: str, *, fence: Fence | None = None
    ) -> None:
        tenant = self._tenants.get(tenant_id).config
        context = _context(tenant, Method.DISCLOSURE, outbound_id)
        await self._store.record_notice(subject, notice, context, fence=fence)

    async def retain(
        self,
        tenant_id: str,
        subject: str,
        entries: list[tuple[ContentKind, str, str]],
        *,
        fence: Fence | None = None,
    ) -> bool:
        """Write T2 content only if the guard allows it now (and, with a turn's `fence`, only if the person
        was not erased since the turn began); returns whether anything was kept."""
        if not entries or not await self.may(tenant_id, subject, Purpose.RETAIN_CONTENT):
            return False
        days = self._tenants.get(tenant_id).config.consent.retention.content_days
        await self._content.write(subject, entries, keep_days=days, fence=fence)
        return True

    async def keep_recording(
        self, tenant_id: str, subject: str, audio: bytes, call_id: str, *, fence: Fence | None = None
    ) -> bool:
        """A call recording goes to T2 (sealed, as base64 Opus) only if `call_recording` is allowed now (and,
        with the call's `fence`, only if the caller was not erased since the call began)."""
        if not await self.may(tenant_id, subject, Purpose.CALL_RECORDING):
            return False
        days = self._tenants.get(tenant_id).config.consent.retention.content_days
        entry: tuple[ContentKind, str, str] = ("recording", base64.b64encode(audio).decode(), call_id)
        await self._content.write(subject, [entry], keep_days=days, fence=fence)
        return True

    async def fence(self, subject: str) -> Fence:
        """The subject's erasure epoch now: a call takes it when it starts (agent/storage/erasure.py)."""
        return await self._content.fence(subject)

    async def processed(self, tenant_id: str, subject: str | None, record: ProcessingRecord) -> None:
        loaded = self._tenants.get(tenant_id).config
        days = loaded.consent.retention.processing_days
        await self._processing.append(tenant_id, record, keep_days=days, zone=tenant_zone(loaded))
