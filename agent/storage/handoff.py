"""Human takeover: a flag per conversation that stops the assistant until a person releases it.

The consent gate (the HUMAN keyword), the tools (the model hands off) and the call agent set it; the reply
path checks it. It lives with the person's keys (`conversation_key(conv, "handoff")`), so erasure takes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.storage.erasure import FencedWriter
from agent.storage.inbox import InboxIndex
from agent.storage.keys import conversation_key

if TYPE_CHECKING:
    from agent.storage.erasure import Fence
    from agent.storage.redis_client import RedisClient


class HandoffFlags:
    """Conversations handed to a person of the business: while flagged, the AI sends nothing, until staff give
    it back in the console (`Takeover.give_back` in agent/console/takeover.py deletes the flag atomically with
    its check of who holds the conversation).

    No TTL: a handoff ends only when someone releases it, never silently. Each handoff enters the tenant's
    inbox index first (agent/storage/inbox.py), so the console lists it and sees it live."""

    def __init__(self, redis: RedisClient, *, shards: int, index: InboxIndex | None = None) -> None:
        self._redis = redis
        self._shards = shards
        self._writer = FencedWriter(redis, shards=shards)
        self._index = index or InboxIndex(redis)

    def _key(self, conv: str) -> str:
        return conversation_key(conv, "handoff", self._shards)

    async def hand_off(self, conv: str, reason: str, *, fence: Fence | None = None) -> None:
        """`fence`: set by a turn or call, which must not flag a person erased since it began (checked before
        the index is written too, so an erased person does not enter the inbox)."""
        if fence is not None:
            await self._writer.check(fence)
        await self._index.note(conv, "waiting")
        if fence is None:
            await self._redis.set(self._key(conv), reason)
        else:
            await self._writer.write(fence, [("SET", self._key(conv), [reason])])

    async def release(self, conv: str) -> None:
        """Without a check of who holds it (the console's `Takeover.give_back` checks that, atomically)."""
        await self._redis.delete(self._key(conv))
        await self._index.note(conv, "released")

    async def reason(self, conv: str) -> str | None:
        """Why the conversation was handed off (`keyword`, `assistant`, `staff`), None when it is not."""
        value = await self._redis.get(self._key(conv))
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def active(self, conv: str) -> bool:
        return bool(await self._redis.exists(self._key(conv)))
