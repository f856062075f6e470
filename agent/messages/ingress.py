"""Ingress: parse a verified webhook body, route it by tenant, dedupe and enqueue it durably.

Meta retries anything that is not a 2xx, so the answer is 200 only once every accepted event is durable,
4xx for input that a retry cannot fix, and 503 only when the write really failed (a retry is then safe:
enqueueing is deduplicated by message id).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from redis.exceptions import RedisError

from agent.messages.queue import QueuedCall, QueuedMedia, QueuedMessage, seal_payload
from agent.storage.redis_client import fsynced_locally, primaries_info
from agent.whatsapp.payloads import (
    CallEvent,
    ConsentSignal,
    InboundMessage,
    StatusUpdate,
    parse_events,
)

if TYPE_CHECKING:
    from agent.messages.queue import CallQueue, ConversationQueue, Sealer
    from agent.messages.statuses import DeliveryStatuses
    from agent.metrics import Metrics
    from agent.privacy.gate import IngressConsent
    from agent.privacy.identities import Identities
    from agent.storage.redis_client import RedisClient
    from agent.tenants.registry import TenantRegistry

log = structlog.get_logger()


class Durability:
    """Waits until writes are on disk where the server can say so (`WAITAOF`, Redis >= 7.2).

    Older servers rely on `appendonly yes` + `appendfsync everysec`: Redis writes the AOF before it
    replies, so a crash of the Redis process loses nothing acknowledged; only an OS crash can lose ≤ 1 s.
    """

    def __init__(self, redis: RedisClient, *, timeout_ms: int = 1000) -> None:
        self._redis = redis
        self._timeout_ms = timeout_ms
        self.available: bool | None = None  # probed at start-up (`probe`), else on first use

    async def probe(self) -> None:
        """At start-up: whether the server (on a cluster: every primary) has WAITAOF, and a clear error (not a
        503 per webhook) when one has it but runs without AOF, where WAITAOF could never confirm a write."""
        primaries = await primaries_info(self._redis, "default")  # its server and persistence sections
        waitaof = [has_waitaof(str(info.get("redis_version", "0.0"))) for info in primaries]
        for has, info in zip(waitaof, primaries, strict=True):
            problem = durability_problem(has, bool(int(info.get("aof_enabled", 0))))
            if problem is not None:
                raise DurabilityError(problem)
        self.available = all(waitaof)

    async def wait(self) -> None:
        if self.available is None:  # Redis was down at start-up
            await self.probe()
        if self.available and min(await fsynced_locally(self._redis, self._timeout_ms)) < 1:
            raise RedisError("WAITAOF: not fsynced in time")


class DurabilityError(RedisError):
    """Redis is configured so that accepted webhooks could never be confirmed durable."""


def has_waitaof(redis_version: str) -> bool:
    major, minor = (int(x) for x in redis_version.split(".")[:2])
    return (major, minor) >= (7, 2)


def durability_problem(waitaof: bool, aof_enabled: bool) -> str | None:
    if waitaof and not aof_enabled:
        return (
            "Redis has WAITAOF but runs without AOF (appendonly no): no webhook could be confirmed durable. "
            "Set `appendonly yes` (with `appendfsync everysec`) on the Redis server."
        )
    return None


@dataclass(frozen=True, slots=True)
class Accepted:
    messages: int = 0
    duplicates: int = 0
    statuses: int = 0
    calls: int = 0
    unknown_tenant: int = 0


class Ingress:
    """Turns a verified webhook body into durable work. Knows nothing of HTTP."""

    def __init__(
        self,
        tenants: TenantRegistry,
        identities: Identities,
        queue: ConversationQueue,
        calls: CallQueue,
        statuses: DeliveryStatuses,
        durability: Durability,
        metrics: Metrics,
        *,
        consent: IngressConsent,
        sealer: Sealer,
    ) -> None:
        """`sealer`: the conversation store; each job's personal part is sealed with the person's data key
        before it is durable, so erasure reaches every copy (the AOF included)."""
        self._sealer = sealer
        self._consent = consent
        self._tenants = tenants
        self._identities = identities
        self._queue = queue
        self._calls = calls
        self._statuses = statuses
        self._durability = durability
        self._metrics = metrics

    async def accept(self, body: bytes) -> Accepted:
        """Raises `PayloadError` for an unreadable body and `RedisError` when the work is not durable."""
        events = parse_events(body)
        messages: list[tuple[str, str, str, dict[str, Any]]] = []
        statuses: list[tuple[str, str, int, int | None]] = []
        calls: list[QueuedCall] = []
        unknown = signals = 0
        for event in events:
            tenant = self._tenants.by_number(event.phone_number_id)
            if tenant is None:
                unknown += 1
                self._metrics.events.labels("unknown", _kind(event), "unknown_tenant").inc()
                continue
            if isinstance(event, InboundMessage):
                conv = await self._identities.subject(tenant.id, event.user_key, event.wa_id)
                # An opt-out takes effect now, before it is queued: it stops this person's turn in flight.
                # It applies once per message id and never over a newer signal (a redelivered old STOP).
                await self._consent.message(tenant.id, conv, event.text, event.message_id, event.timestamp)
                job = await seal_payload(self._sealer, conv, _queued(tenant.id, event).to_fields())
                messages.append((conv, event.message_id, event.kind, job))
            elif isinstance(event, ConsentSignal):
                conv = await self._identities.subject(tenant.id, event.user_key, event.wa_id)
                await self._consent.signal(tenant.id, conv, event)
                signals += 1
            elif isinstance(event, StatusUpdate):
                statuses.append((event.message_id, event.status, event.timestamp, event.error_code))
            else:
                # The caller's subject: their key seals the event, and the call acts on their conversation.
                caller = await self._identities.subject(tenant.id, event.user_key, event.wa_id)
                calls.append(QueuedCall(tenant=tenant.id, subject=caller, **dataclasses.asdict(event)))
        added = await self._queue.enqueue_many(messages)
        await self._statuses.record_many(statuses)
        await self._calls.enqueue_many(calls)
        if added or statuses or calls or signals:
            await self._durability.wait()
        for (conv, _, kind, _), was_added in zip(messages, added, strict=True):
            self._metrics.events.labels(
                conv.split(":", 1)[0], kind, "accepted" if was_added else "duplicate"
            ).inc()
        return Accepted(
            messages=sum(added),
            duplicates=len(added) - sum(added),
            statuses=len(statuses),
            calls=len(calls),
            unknown_tenant=unknown,
        )


def _kind(event: InboundMessage | StatusUpdate | CallEvent | ConsentSignal) -> str:
    if isinstance(event, InboundMessage):
        return event.kind
    if isinstance(event, ConsentSignal):
        return "consent"
    return "status" if isinstance(event, StatusUpdate) else "call"


def _queued(tenant_id: str, message: InboundMessage) -> QueuedMessage:
    """What a worker needs to answer; `to` is the wa_id, or the BSUID when Meta sent no phone number."""
    media = message.media
    return QueuedMessage(
        tenant=tenant_id,
        phone_number_id=message.phone_number_id,
        message_id=message.message_id,
        to=message.wa_id or message.user_key,
        profile_name=message.profile_name,
        timestamp=message.timestamp,
        kind=message.kind,
        original_type=message.original_type,
        text=message.text,
        media=QueuedMedia(media.id, media.mime_type, media.sha256, media.voice) if media else None,
    )
