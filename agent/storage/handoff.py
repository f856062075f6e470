"""Human takeover: a flag per conversation that stops the assistant until a person releases it.

The consent gate (the HUMAN keyword), the tools (the model hands off) and the call agent set it; the reply
path checks it. It lives with the person's keys (`conversation_key(conv, "handoff")`), so erasure takes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.storage.erasure import FencedWriter
from agent.storage.keys import conversation_key

if TYPE_CHECKING:
    from agent.storage.erasure import Fence
    from agent.storage.redis_client import RedisClient


class HandoffFlags:
    """Conversations a human has taken over: while flagged, the AI sends nothing (until a human releases it).

    No TTL: a handoff ends only when someone releases it, never silently."""

    def __init__(self, redis: RedisClient, *, shards: int) -> None:
        self._redis = redis
        self._shards = shards
        self._writer = FencedWriter(redis, shards=shards)

    def _key(self, conv: str) -> str:
        return conversation_key(conv, "handoff", self._shards)

    async def hand_off(self, conv: str, reason: str, *, fence: Fence | None = None) -> None:
        """`fence`: set by a turn or call, which must not flag a person erased since it began."""
        if fence is None:
            await self._redis.set(self._key(conv), reason)
        else:
            await self._writer.write(fence, [("SET", self._key(conv), [reason])])

    async def release(self, conv: str) -> None:
        await self._redis.delete(self._key(conv))

    async def active(self, conv: str) -> bool:
        return bool(await self._redis.exists(self._key(conv)))
