"""Hot reload of tenant folders, for every process that serves tenants (worker, webhook app)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from agent.tenants import TenantRegistry

log = structlog.get_logger()


async def watch_tenants(tenants: TenantRegistry, stop: asyncio.Event, *, every_s: float) -> None:
    """A changed tenant folder is picked up without a restart; a version that does not validate is logged
    (the error names file, line and field, never a value) and the old config keeps serving."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
        if stop.is_set():
            return
        for change in await asyncio.to_thread(tenants.refresh):
            if change.applied:
                log.info("tenants.reloaded", tenant=change.tenant)
            else:
                log.error("tenants.reload_rejected", tenant=change.tenant, error=change.error)
