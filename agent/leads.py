"""Lead records: part of the person's data, sealed with the conversation's data key.

A Redis list at `conversation_key(conv, "leads")`, one `ConversationStore.seal`ed JSON object per item, so
the consent tooling exports them with the subject and erasing the data key makes every copy unreadable.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agent.queue import conversation_key

if TYPE_CHECKING:
    from agent.redis_client import RedisClient
    from agent.store import ConversationStore

DEDUPE_S = 7 * 86_400

# KEYS: leads list, dedupe marker   ARGV: sealed record, marker ttl. Atomic: a retried turn adds a lead once.
_ADD_ONCE = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('RPUSH', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


class LeadStore:
    def __init__(self, redis: RedisClient, store: ConversationStore, *, shards: int) -> None:
        self._redis = redis
        self._store = store
        self._shards = shards
        self._add_once = redis.register_script(_ADD_ONCE)

    def key(self, conv: str) -> str:
        return conversation_key(conv, "leads", self._shards)

    async def add(self, conv: str, record: dict[str, Any], *, dedupe_key: str) -> bool:
        """Appends the record unless one with the same `dedupe_key` was added (a retried turn)."""
        sealed = await self._store.seal(conv, json.dumps(record, ensure_ascii=False).encode())
        marker = conversation_key(conv, f"lead:{dedupe_key}", self._shards)
        return bool(await self._add_once(keys=[self.key(conv), marker], args=[sealed, DEDUPE_S]))

    async def all(self, conv: str) -> list[dict[str, Any]]:
        items = await self._redis.lrange(self.key(conv), 0, -1)
        raw = [item.encode() if isinstance(item, str) else item for item in items]
        return [json.loads(await self._store.open(conv, item)) for item in raw]
