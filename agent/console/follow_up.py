"""A handoff nobody takes gets the tenant's "we'll get back to you" once (tenant.yaml `inbox:`).

The console process runs `FollowUps.run`; several consoles may run it: the reply ledger lets one send.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

import structlog

from agent.console.replies import ReplyRefusedError

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.console.replies import StaffReplies
    from agent.storage.inbox import InboxIndex
    from agent.tenants.registry import TenantRegistry

log = structlog.get_logger()


class FollowUps:
    def __init__(
        self,
        index: InboxIndex,
        replies: StaffReplies,
        tenants: TenantRegistry,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._index = index
        self._replies = replies
        self._tenants = tenants
        self._clock = clock

    async def run_once(self) -> int:
        """Sends the follow-up to every handoff waiting past its tenant's time; returns how many went out."""
        sent = 0
        for tenant_id in self._tenants.ids():
            tenant = self._tenants.get(tenant_id).config
            after_s = tenant.inbox.follow_up_after_min * 60
            if after_s <= 0:
                continue
            waiting, _taken = await self._index.listing(tenant_id)
            text = tenant.inbox.follow_up.replace("{business}", tenant.name)
            for conv, since in waiting:
                if self._clock() - since < after_s:
                    break  # oldest first: the rest waited less
                try:
                    await self._replies.send_follow_up(conv, text, since)
                except ReplyRefusedError as exc:  # sent before, taken meanwhile, no consent, window closed
                    log.debug("console.follow_up_skipped", conv=conv, reason=exc.refusal.value)
                    continue
                sent += 1
        return sent

    async def run(self, stop: asyncio.Event, *, every_s: float = 30.0) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # a Redis or Graph hiccup: logged, tried again on the next round
                log.exception("console.follow_up_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
