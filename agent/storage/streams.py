"""Entries of a stream shared by many people leave it one by one (erasure, tenant deletion)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.storage.keys import StreamEntries
    from agent.storage.redis_client import RedisClient

_PAGE = 500


async def drop_entries(redis: RedisClient, entries: StreamEntries) -> int:
    """Delete a bounded stream's entries whose clear field matches, one page at a time (the streams are
    capped or trimmed by age, so the pass is bounded)."""
    doomed: list[Any] = []
    start = "-"
    while True:
        page: list[Any] = await redis.xrange(entries.stream, min=start, max="+", count=_PAGE) or []
        doomed += [
            entry_id for entry_id, fields in page if entries.matches(_s(fields.get(entries.field, b"")))
        ]
        if len(page) < _PAGE:
            break
        start = "(" + _s(page[-1][0])
    return int(await redis.xdel(entries.stream, *doomed)) if doomed else 0


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
