"""Retention: expired T2 content and T0 records are purged per tenant, pending erasures are carried out,
and a terminated tenant is frozen, then deleted entirely (keys included) after the grace period.

The purge writes what it did to T0 as counts, never content. The clock is injected: tests move time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from redis.exceptions import RedisError

from agent.privacy.records import ContentLog, ProcessingLog, ProcessingRecord
from agent.privacy.rights import Actor, SubjectRights
from agent.storage.keys import KEPT_AFTER_DELETION, tenant_entries, tenant_key, tenant_patterns
from agent.storage.streams import drop_entries
from agent.tenants.consent import DAY_S, TERMINATION_GRACE_DAYS

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.privacy.ledger import ConsentStore
    from agent.storage.redis_client import RedisClient
    from agent.tenants.registry import TenantRegistry

log = structlog.get_logger()

SWEEPER = Actor("retention", "system")


@dataclass(frozen=True, slots=True)
class Purge:
    tenant: str
    content: int = 0
    processing: int = 0
    erasures: int = 0
    audit: int = 0
    tenant_keys: int = 0  # > 0 only when a terminated tenant's grace period ended


class Retention:
    def __init__(
        self,
        redis: RedisClient,
        consent: ConsentStore,
        content: ContentLog,
        processing: ProcessingLog,
        rights: SubjectRights,
        tenants: TenantRegistry,
        *,
        shards: int,
        key_store: RedisClient | None = None,
        grace_days: int = TERMINATION_GRACE_DAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._key_store = key_store or redis
        self._consent = consent
        self._content = content
        self._processing = processing
        self._rights = rights
        self._tenants = tenants
        self._grace_s = grace_days * DAY_S
        self._clock = clock
        self._shards = shards

    async def terminate(self, tenant: str) -> None:
        """The account ended: stop all processing now (the guard denies everything), delete after grace."""
        await self._redis.set(tenant_key(tenant, "terminated"), repr(self._clock()), nx=True)

    async def sweep(self, tenant: str) -> Purge:
        terminated = await self._consent.terminated_at(tenant)
        if terminated is not None and self._clock() - terminated >= self._grace_s:
            deleted = await self._delete_tenant(tenant)
            log.info("retention.tenant_deleted", tenant=tenant, keys=deleted)
            return Purge(tenant, tenant_keys=deleted)
        # Frozen or not, the usual periods keep running.
        retention = self._tenants.get(tenant).config.consent.retention
        erasures = 0
        for subject in await self._consent.pending_erasures(tenant):
            await self._rights.erase(subject, SWEEPER)
            erasures += 1
        purge = Purge(
            tenant,
            content=await self._content.purge(tenant, keep_days=retention.content_days),
            processing=await self._processing.purge(tenant, keep_days=retention.processing_days),
            erasures=erasures,
            audit=await self._rights.audit.trim_before(tenant, self._clock() - retention.audit_days * DAY_S),
        )
        counts = {"content": purge.content, "processing": purge.processing, "erasures": erasures}
        record = ProcessingRecord(
            event="retention.purge", subject=None, outcome="done", counts=counts | {"audit": purge.audit}
        )
        await self._processing.append(tenant, record, keep_days=retention.processing_days)
        return purge

    async def _delete_tenant(self, tenant: str) -> int:
        """Every key of the tenant (agent/storage/keys.py): per-tenant logs and ledgers, every conversation's
        keys, the data keys, its bookings, its entries in shared streams; only the tombstone stays."""
        deleted = 0
        for entries in tenant_entries(tenant, self._shards):
            deleted += await drop_entries(self._redis, entries)
        kept = {tenant_key(tenant, suffix) for suffix in KEPT_AFTER_DELETION}
        for redis in {id(self._redis): self._redis, id(self._key_store): self._key_store}.values():
            for pattern in tenant_patterns(tenant):
                doomed = [
                    key async for key in redis.scan_iter(match=pattern, count=500) if _s(key) not in kept
                ]
                for start in range(0, len(doomed), 500):
                    deleted += int(await redis.delete(*doomed[start : start + 500]))
        return deleted

    async def run(self, stop: asyncio.Event, *, every_s: float = 3600.0) -> None:
        """The worker's background sweep over every tenant."""
        while not stop.is_set():
            for tenant in self._tenants.ids():
                try:
                    purge = await self.sweep(tenant)
                    log.info("retention.swept", tenant=tenant, content=purge.content,
                             processing=purge.processing, erasures=purge.erasures)  # fmt: skip
                except RedisError as exc:
                    log.warning("retention.failed", tenant=tenant, error=type(exc).__name__)
                except Exception as exc:  # a bug must not end the sweeps of every other tenant
                    log.exception("retention.failed", tenant=tenant, error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
