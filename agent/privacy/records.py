"""The consent-aware log tiers on Redis (T1, the application log, is `agent/logs.py`).

T0 `ProcessingLog`: content-free facts about processing (event, subject key, hashed message id, timings,
sizes, model ids, token counts, outcome), per tenant, trimmed to the tenant's processing period.
T2 `ContentLog`: transcripts, messages, minimized prompts and replies, sealed with the subject's data key,
written only after the guard allowed `retain_content`, trimmed to the tenant's content period.

Both are sorted sets scored by the (injectable) clock, so retention is a range delete, never a scan of
content.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any, Literal

from agent.analytics.writer import RollupWriter
from agent.storage.erasure import Fence
from agent.storage.keys import conversation_key, epoch_key, tenant_key, tenant_of
from agent.tenants.consent import DAY_S

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import tzinfo

    from agent.storage.conversations import ConversationStore
    from agent.storage.erasure import Command
    from agent.storage.redis_client import RedisClient


def hashed_id(message_id: str) -> str:
    """A message id in T0: enough to correlate records, useless to look a message up at Meta."""
    return hashlib.sha256(message_id.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessingRecord:
    """One T0 line. Every field is an id, a count, a duration or an enum: there is no field for text."""

    event: str  # "turn", "keyword", "retention.purge", ...
    subject: str | None
    outcome: str
    message: str | None = None  # hashed_id() of the inbound message
    timings_ms: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class ProcessingLog:
    """T0, per tenant; every append also drops what is older than the tenant's processing period, and adds
    the record to the tenant's analytics rollup in the same script (agent/analytics/writer.py)."""

    def __init__(self, redis: RedisClient, *, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._clock = clock
        self._writer = RollupWriter(redis)

    async def append(
        self, tenant: str, record: ProcessingRecord, *, keep_days: int, zone: tzinfo = UTC
    ) -> bool:
        """False when a record of this event for this hashed message id was already written (a redelivered
        attempt); `zone`: where the tenant's analytics days begin."""
        now = self._clock()
        row = {"id": uuid.uuid4().hex, "at": now, **asdict(record)}
        return await self._writer.append(tenant, record, row, now=now, keep_days=keep_days, zone=zone)

    async def records(self, tenant: str, subject: str | None = None) -> list[dict[str, Any]]:
        members: list[Any] = await self._redis.zrange(tenant_key(tenant, "t0"), 0, -1)
        rows = [json.loads(m) for m in members]
        return [r for r in rows if subject is None or r["subject"] == subject]

    async def purge(self, tenant: str, *, keep_days: int) -> int:
        cutoff = self._clock() - keep_days * DAY_S
        return int(await self._redis.zremrangebyscore(tenant_key(tenant, "t0"), "-inf", cutoff))

    async def forget(self, tenant: str, subject: str) -> int:
        """Erasure: the subject's records go too (they hold no content, but their key is linkable)."""
        key = tenant_key(tenant, "t0")
        members: list[Any] = await self._redis.zrange(key, 0, -1)
        doomed = [m for m in members if json.loads(m)["subject"] == subject]
        await self._writer.forget(tenant)  # nothing can tie them to the people counts
        return int(await self._redis.zrem(key, *doomed)) if doomed else 0


ContentKind = Literal["transcript", "message", "prompt", "reply", "recording"]  # recording: base64 Opus


@dataclass(frozen=True, slots=True)
class ContentEntry:
    kind: ContentKind
    text: str
    message: str  # the inbound message id it belongs to
    at: float


class ContentLog:
    """T2, per subject, sealed with the subject's data key. Call `write` only after `may(retain_content)`."""

    def __init__(
        self,
        redis: RedisClient,
        store: ConversationStore,
        *,
        shards: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._store = store
        self._shards = shards
        self._clock = clock

    def key(self, subject: str) -> str:
        return conversation_key(subject, "t2", self._shards)

    async def fence(self, subject: str) -> Fence:
        """The subject's erasure epoch now, for a writer that is not a claimed turn (a live call)."""
        return Fence(subject, int(await self._redis.get(epoch_key(subject, self._shards)) or 0))

    async def write(
        self,
        subject: str,
        entries: list[tuple[ContentKind, str, str]],
        *,
        keep_days: int,
        fence: Fence | None = None,
    ) -> None:
        """(kind, text, message id) each; the key expires with its newest entry's retention. With `fence`
        (a turn), nothing is written if the person was erased since the turn began (`ErasedError`)."""
        now = self._clock()
        sealed = {  # a microsecond apart, so one turn's entries keep their order
            await self._store.seal(
                subject, json.dumps(asdict(ContentEntry(k, t, m, now))).encode(), fence=fence
            ): now + i / 1e6
            for i, (k, t, m) in enumerate(entries)
        }
        if not sealed:
            return
        key = self.key(subject)
        writes: list[Command] = [
            ("ZADD", key, [x for member, score in sealed.items() for x in (score, member)]),
            ("ZREMRANGEBYSCORE", key, ["-inf", now - keep_days * DAY_S]),
            ("EXPIRE", key, [keep_days * DAY_S]),
        ]
        if fence is not None:
            await self._store.writer.write(fence, writes)
        else:
            async with self._redis.pipeline(transaction=False) as pipe:
                for name, k, args in writes:
                    pipe.execute_command(name, k, *args)
                await pipe.execute()
        # The tenant's index of subjects with content (another slot): what retention walks.
        await self._redis.zadd(tenant_key(tenant_of(subject), "t2index"), {subject: now})

    async def entries(self, subject: str) -> list[ContentEntry]:
        """Decrypted, oldest first (raises `SealError` once the subject's data key is gone)."""
        out = []
        members: list[Any] = await self._redis.zrange(self.key(subject), 0, -1)
        for sealed in members:
            out.append(ContentEntry(**json.loads(await self._store.open(subject, sealed))))
        return out

    async def count(self, subject: str) -> int:
        return int(await self._redis.zcard(self.key(subject)))

    async def purge(self, tenant: str, *, keep_days: int) -> int:
        """Drop expired entries of every subject of the tenant; returns how many went."""
        cutoff = self._clock() - keep_days * DAY_S
        index = tenant_key(tenant, "t2index")
        removed = 0
        subjects: list[Any] = await self._redis.zrange(index, 0, -1)
        for subject in subjects:
            key = self.key(subject.decode())
            removed += int(await self._redis.zremrangebyscore(key, "-inf", cutoff))
        await self._redis.zremrangebyscore(index, "-inf", cutoff)  # subjects with nothing newer than cutoff
        return removed
