"""Delivery statuses of the messages we sent, from Meta's status webhooks (ids and codes, no content)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.storage.keys import delivery_status
from agent.storage.redis_client import run_script_many

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agent.storage.redis_client import RedisClient

DAY_S = 86_400

_RECORD_STATUS = """
-- KEYS: status   ARGV: rank, status, timestamp, error_code, ttl_s
-- Monotonic: sent < delivered < read < played; failed (rank 99) is terminal. Webhooks arrive in any order.
local current = tonumber(redis.call('HGET', KEYS[1], 'rank') or '0')
if tonumber(ARGV[1]) <= current or current == 99 then return 0 end
redis.call('HSET', KEYS[1], 'rank', ARGV[1], 'status', ARGV[2], 'at', ARGV[3], 'error_code', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

_STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 99}


class DeliveryStatuses:
    """The latest state of each outbound message, from Meta's status webhooks (ids and codes only)."""

    def __init__(self, redis: RedisClient, *, ttl_s: int = 30 * DAY_S) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        self._record = redis.register_script(_RECORD_STATUS)

    @staticmethod
    def _key(message_id: str) -> str:
        return delivery_status(message_id)

    async def record_many(self, updates: Sequence[tuple[str, str, int, int | None]]) -> list[bool]:
        """(message id, status, timestamp, error code) each; True where the state advanced."""
        calls = [
            (
                [self._key(message_id)],
                [
                    _STATUS_RANK[status],
                    status,
                    timestamp,
                    "" if error_code is None else error_code,
                    self._ttl_s,
                ],
            )
            for message_id, status, timestamp, error_code in updates
        ]
        return [bool(r) for r in await run_script_many(self._redis, self._record, calls)]

    async def get(self, message_id: str) -> dict[str, str]:
        raw = await self._redis.hgetall(self._key(message_id))
        return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
