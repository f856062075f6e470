"""Lead records: part of the person's data, sealed with the conversation's data key.

A Redis list at `conversation_key(conv, "leads")`, one `ConversationStore.seal`ed JSON object per item, so
the consent tooling exports them with the subject and erasing the data key makes every copy unreadable.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agent.storage.erasure import FENCE_PRELUDE, ErasedError, FencedWriter
from agent.storage.keys import conversation_key

if TYPE_CHECKING:
    from agent.storage.conversations import ConversationStore
    from agent.storage.erasure import Fence
    from agent.storage.redis_client import RedisClient

DEDUPE_S = 7 * 86_400
CAP = 500  # leads kept per person, newest last: a looping model cannot grow the list without bound
TTL_S = 365 * 86_400  # renewed by each new lead: a person's leads go a year after their last one

# KEYS: epoch, consent, leads list, dedupe marker   ARGV: fence epoch, pending field, sealed record, marker ttl,
# cap, list ttl. Atomic: a retried turn adds a lead once; a turn that began before an erasure adds none.
_ADD_ONCE = (
    FENCE_PRELUDE
    + """
if redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[4]) then
  redis.call('RPUSH', KEYS[3], ARGV[3])
  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[5]), -1)
  redis.call('EXPIRE', KEYS[3], ARGV[6])
  return 1
end
return 0
"""
)


class LeadStore:
    def __init__(self, redis: RedisClient, store: ConversationStore, *, shards: int) -> None:
        self._redis = redis
        self._store = store
        self._shards = shards
        self._add_once = redis.register_script(_ADD_ONCE)
        self.writer = FencedWriter(redis, shards=shards)

    def key(self, conv: str) -> str:
        return conversation_key(conv, "leads", self._shards)

    async def add(
        self, conv: str, record: dict[str, Any], *, dedupe_key: str, fence: Fence | None = None
    ) -> bool:
        """Appends the record unless one with the same `dedupe_key` was added (a retried turn). With
        `fence`, raises `ErasedError` (adding nothing) if the person was erased since the turn began."""
        sealed = await self._store.seal(conv, json.dumps(record, ensure_ascii=False).encode(), fence=fence)
        marker = conversation_key(conv, f"lead:{dedupe_key}", self._shards)
        added = await self._add_once(
            keys=[*self.writer.fence_keys(conv), self.key(conv), marker],
            args=[*self.writer.fence_args(fence), sealed, DEDUPE_S, CAP, TTL_S],
        )
        if added == -2:
            raise ErasedError
        return bool(added)

    async def all(self, conv: str) -> list[dict[str, Any]]:
        items = await self._redis.lrange(self.key(conv), 0, -1)
        raw = [item.encode() if isinstance(item, str) else item for item in items]
        return [json.loads(await self._store.open(conv, item)) for item in raw]
