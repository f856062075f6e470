"""Hot reload of tenant folders, for every process that serves tenants (worker, webhook app)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import structlog

from agent.settings import RuntimeConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.tenants.registry import TenantRegistry

log = structlog.get_logger()


async def watch_tenants(
    tenants: TenantRegistry,
    stop: asyncio.Event,
    *,
    every_s: float,
    on_applied: Callable[[str], None] | None = None,
) -> None:
    """A changed tenant folder is picked up without a restart; a version that does not validate is logged
    (the error names file, line and field, never a value) and the old config keeps serving. `on_applied`
    (blocking, run in a thread) loads what the new version needs, e.g. its voice; if that fails the tenant
    is served with the deployment's defaults and the failure is logged."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
        if stop.is_set():
            return
        for change in await asyncio.to_thread(tenants.refresh):
            if change.applied:
                log.info("tenants.reloaded", tenant=change.tenant)
                if on_applied is not None:
                    try:
                        await asyncio.to_thread(on_applied, change.tenant)
                    except RuntimeConfigError as exc:
                        log.error("tenants.reload_incomplete", tenant=change.tenant, error=str(exc))
            else:
                log.error("tenants.reload_rejected", tenant=change.tenant, error=change.error)
