"""A staff reply, by text or as a voice note recorded in the browser, through the assistant's send path:
the reply ledger (one send per reply id, only while this person holds the conversation), the consent gate
(`may(reply)`), the service window, the T0/T2 log tiers and the same metrics.

The reply id comes from the page (one per composed reply): a form sent twice, or a retry after a lost
answer, finds its id in the ledger and sends nothing again.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import structlog

from agent.privacy.records import ProcessingRecord, hashed_id
from agent.storage.keys import conversation_key
from agent.whatsapp import GraphError, MediaError
from pipelines.audio import AudioError, DecodeLimits, decode, encode_voice_note
from pipelines.consent import Purpose

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from agent.metrics import Metrics
    from agent.privacy.gate import ConsentGate
    from agent.storage.redis_client import RedisClient
    from agent.storage.staff_thread import Contact, StaffThread
    from agent.tenants.registry import ApprovedTemplate, TenantRegistry
    from agent.whatsapp import GraphClient

log = structlog.get_logger()

SERVICE_WINDOW_S = 24 * 3600
MAX_TEXT = 4096  # WhatsApp's limit for a text body
VOICE_LIMITS = DecodeLimits(max_bytes=5 * 1024 * 1024, max_duration_s=300.0)
REPLY_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

# KEYS: replied, takeover   ARGV: field, staff
# The same ledger hash as the assistant's replies (field `staff:<reply id>`): sent once, and only while
# this person still holds the conversation (a colleague's takeover or a give-back stops it).
_BEGIN = """
if redis.call('HGET', KEYS[2], 'staff') ~= ARGV[2] then return -3 end
if redis.call('HSETNX', KEYS[1], ARGV[1], 'sending') == 0 then return 0 end
return 1
"""


# KEYS: replied, takeover, handoff   ARGV: field
# The follow-up for a handoff nobody took: only while the conversation still waits (handed off, not taken).
_BEGIN_FOLLOW_UP = """
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 0 then return -3 end
if redis.call('HSETNX', KEYS[1], ARGV[1], 'sending') == 0 then return 0 end
return 1
"""


class Refusal(StrEnum):
    NOT_HOLDER = "not_holder"  # take the conversation over first
    DUPLICATE = "duplicate"  # this reply id was already sent (or is being sent)
    CONSENT = "consent"  # `may(reply)` says no (a STOP, an objection, an erasure)
    WINDOW_CLOSED = "window_closed"  # past 24 h since the person's last message: templates only
    NO_CONTACT = "no_contact"  # nothing known about how to reach the person (erased or expired)
    BAD_AUDIO = "bad_audio"
    BAD_TEXT = "bad_text"
    GRAPH = "graph"  # Meta refused it; nothing was sent
    UNKNOWN = "outcome_unknown"  # it may have reached the person: never sent again


class ReplyRefusedError(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: str


class StaffReplies:
    def __init__(
        self,
        redis: RedisClient,
        graph: GraphClient,
        tenants: TenantRegistry,
        gate: ConsentGate,
        thread: StaffThread,
        metrics: Metrics,
        *,
        shards: int,
        ledger_ttl_s: int = 7 * 86_400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._graph = graph
        self._tenants = tenants
        self._gate = gate
        self._thread = thread
        self._metrics = metrics
        self._shards = shards
        self._ledger_ttl_s = ledger_ttl_s
        self._clock = clock
        self._begin = redis.register_script(_BEGIN)
        self._begin_follow_up = redis.register_script(_BEGIN_FOLLOW_UP)

    async def window_left_s(self, conv: str) -> float | None:
        """Seconds left in the 24-hour service window (≤ 0: closed), None when the contact is unknown."""
        contact = await self._thread.contact(conv)
        return None if contact is None else contact.last_inbound + SERVICE_WINDOW_S - self._clock()

    async def voice_note(self, conv: str, media: tuple[str, str]) -> bytes:
        """A customer's voice note from Meta's media store (as a worker fetches it), for playback in the page;
        raises `ReplyRefusedError(GRAPH)` when it is gone or refused."""
        if await self._thread.contact(conv) is None:  # erased or expired: nothing of the person is fetched
            raise ReplyRefusedError(Refusal.NO_CONTACT)
        token = self._tenants.access_token(conv.split(":", 1)[0])
        media_id, sha256 = media
        try:
            info = await self._graph.media_url(media_id, token)
            return await self._graph.download_media(info, token, sha256 or None)
        except (GraphError, MediaError, ValueError):
            raise ReplyRefusedError(Refusal.GRAPH) from None

    async def send_text(self, conv: str, staff: str, reply_id: str, text: str, *, author: str) -> Sent:
        text = text.strip()
        if not text or len(text) > MAX_TEXT or not REPLY_ID.fullmatch(reply_id):
            raise ReplyRefusedError(Refusal.BAD_TEXT)
        field = _field(reply_id)
        contact, token = await self._ready(conv, field, self._held_by(conv, field, staff))

        async def send() -> str:
            return await self._graph.send_text(contact.phone_number_id, token, contact.to, text)

        sent = await self._send(conv, field, send, kind="text")
        await self._thread.staff_reply(conv, text, author)
        await self._gate.retain(conv.split(":", 1)[0], conv, [("reply", text, sent.message_id)])
        return sent

    async def send_voice_note(
        self, conv: str, staff: str, reply_id: str, recording: bytes, *, author: str
    ) -> Sent:
        """`recording`: what the browser's MediaRecorder produced (WebM/Opus, OGG, …); transcoded to the
        OGG/Opus mono voice note WhatsApp plays inline, off the event loop."""
        if not REPLY_ID.fullmatch(reply_id):
            raise ReplyRefusedError(Refusal.BAD_TEXT)
        field = _field(reply_id)
        contact, token = await self._ready(conv, field, self._held_by(conv, field, staff))
        try:
            note = await asyncio.to_thread(lambda: encode_voice_note(decode(recording, VOICE_LIMITS)))
        except AudioError:
            await self._release(conv, field)
            raise ReplyRefusedError(Refusal.BAD_AUDIO) from None

        async def send() -> str:
            media_id = await self._graph.upload_media(contact.phone_number_id, token, note, "audio/ogg")
            return await self._graph.send_voice_note(contact.phone_number_id, token, contact.to, media_id)

        sent = await self._send(conv, field, send, kind="voice")
        await self._thread.staff_reply(conv, "", author, kind="voice")
        return sent

    async def send_template(self, conv: str, staff: str, reply_id: str, template: ApprovedTemplate) -> Sent:
        """One of the tenant's approved templates (tenant.yaml `inbox.templates`): what may still be sent once
        the 24-hour window has closed; the same holder check, ledger and gate as a reply."""
        if not REPLY_ID.fullmatch(reply_id):
            raise ReplyRefusedError(Refusal.BAD_TEXT)
        field = _field(reply_id)
        contact = await self._contact(conv)
        token = await self._begin_checked(conv, self._held_by(conv, field, staff))

        async def send() -> str:
            return await self._graph.send_template(
                contact.phone_number_id, token, contact.to, template.name, template.language
            )

        return await self._send(conv, field, send, kind="template")

    async def send_follow_up(self, conv: str, text: str, waiting_since: float) -> Sent:
        """The tenant's "we'll get back to you" for a handoff nobody took: once per handoff (the ledger field
        names the handoff by the time it began), and only while it still waits (not taken, not given back)."""
        field = f"follow_up:{waiting_since:.3f}"

        async def waits() -> int:
            keys = [self._key(conv, "replied"), self._key(conv, "takeover"), self._key(conv, "handoff")]
            return int(await self._begin_follow_up(keys=keys, args=[field]))

        contact, token = await self._ready(conv, field, waits)

        async def send() -> str:
            return await self._graph.send_text(contact.phone_number_id, token, contact.to, text)

        return await self._send(conv, field, send, kind="follow_up")

    def _held_by(self, conv: str, field: str, staff: str) -> Callable[[], Awaitable[int]]:
        async def begin() -> int:
            keys = [self._key(conv, "replied"), self._key(conv, "takeover")]
            return int(await self._begin(keys=keys, args=[field, staff]))

        return begin

    async def _ready(self, conv: str, field: str, begin: Callable[[], Awaitable[int]]) -> tuple[Contact, str]:
        """Everything checked before a free-form send (inside the service window); the ledger entry
        (`begin`, atomic with the check of who may send) is taken last."""
        contact = await self._contact(conv)
        if self._clock() - contact.last_inbound > SERVICE_WINDOW_S:
            raise ReplyRefusedError(Refusal.WINDOW_CLOSED)
        return contact, await self._begin_checked(conv, begin)

    async def _contact(self, conv: str) -> Contact:
        contact = await self._thread.contact(conv)
        if contact is None:
            raise ReplyRefusedError(Refusal.NO_CONTACT)
        return contact

    async def _begin_checked(self, conv: str, begin: Callable[[], Awaitable[int]]) -> str:
        """`may(reply)`, then the ledger entry; returns the tenant's access token."""
        tenant = conv.split(":", 1)[0]
        if not (await self._gate.may(tenant, conv, Purpose.REPLY)).allowed:
            raise ReplyRefusedError(Refusal.CONSENT)
        began = await begin()
        if began == -3:
            raise ReplyRefusedError(Refusal.NOT_HOLDER)
        if began == 0:
            raise ReplyRefusedError(Refusal.DUPLICATE)
        await self._redis.expire(self._key(conv, "replied"), self._ledger_ttl_s)
        return self._tenants.access_token(tenant)

    async def _send(self, conv: str, field: str, send: Callable[[], Awaitable[str]], *, kind: str) -> Sent:
        tenant = conv.split(":", 1)[0]
        started = time.perf_counter()
        try:
            message_id = await send()
        except GraphError as exc:
            if exc.outcome_unknown:
                await self._redis.hset(self._key(conv, "replied"), field, "unknown")
                self._metrics.send_outcome_unknown.labels(tenant, "staff").inc()
                outcome, refusal = "outcome_unknown", Refusal.UNKNOWN
            else:
                await self._release(conv, field)
                outcome, refusal = "graph_error", Refusal.GRAPH
            log.warning("console.reply_failed", conv=conv, kind=kind, code=exc.code, outcome=outcome)
            await self._record(tenant, conv, field, outcome, kind, started)
            raise ReplyRefusedError(refusal) from None
        await self._redis.hset(self._key(conv, "replied"), field, "sent")
        outcome = "handoff_follow_up" if kind == "follow_up" else "staff_replied"
        self._metrics.turns.labels(tenant, outcome).inc()
        await self._record(tenant, conv, field, outcome, kind, started)
        log.info("console.replied", conv=conv, kind=kind)
        return Sent(message_id)

    async def _record(
        self, tenant: str, conv: str, field: str, outcome: str, kind: str, started: float
    ) -> None:
        record = ProcessingRecord(
            event="staff_reply",
            subject=conv,
            outcome=outcome,
            message=hashed_id(field),
            timings_ms={"send": (time.perf_counter() - started) * 1000},
            sizes={"voice": int(kind == "voice")},
        )
        await self._gate.processed(tenant, conv, record)

    async def _release(self, conv: str, field: str) -> None:
        await self._redis.hdel(self._key(conv, "replied"), field)

    def _key(self, conv: str, suffix: str) -> str:
        return conversation_key(conv, suffix, self._shards)


def _field(reply_id: str) -> str:
    return "staff:" + reply_id
