"""Take over, give back, assign: who of the business holds a conversation.

`takeover` (a hash in the conversation's slot: staff, since) is what the reply ledger's `begin_send` checks
atomically (agent/messages/queue.py): from the moment it exists, no assistant send starts, also for a turn
already in flight. Taking over also sets the handoff flag (the assistant does not even start a turn); giving
back removes both. The tenant's inbox index follows (agent/storage/inbox.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.storage.keys import conversation_key

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.storage.inbox import InboxIndex
    from agent.storage.redis_client import RedisClient

# KEYS: takeover, handoff   ARGV: staff, now, force ('1': an owner takes it from a colleague)
_TAKE = """
local holder = redis.call('HGET', KEYS[1], 'staff')
if holder and holder ~= ARGV[1] and ARGV[3] ~= '1' then return holder end
redis.call('HSET', KEYS[1], 'staff', ARGV[1], 'since', ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], 'staff') end
return ''
"""

# KEYS: takeover, handoff   ARGV: staff, force
_GIVE_BACK = """
local holder = redis.call('HGET', KEYS[1], 'staff')
if holder and holder ~= ARGV[1] and ARGV[2] ~= '1' then return holder end
redis.call('DEL', KEYS[1], KEYS[2])
return ''
"""

# KEYS: takeover   ARGV: from, to, now, force
_ASSIGN = """
local holder = redis.call('HGET', KEYS[1], 'staff')
if not holder then return '-' end
if holder ~= ARGV[1] and ARGV[4] ~= '1' then return holder end
redis.call('HSET', KEYS[1], 'staff', ARGV[2], 'since', ARGV[3])
return ''
"""


@dataclass(frozen=True, slots=True)
class Holder:
    staff: str  # e-mail reference
    since: float


class HeldByOtherError(Exception):
    """A colleague holds the conversation (only an owner may take it from them)."""


class NotTakenError(Exception):
    """Nobody holds the conversation: there is nothing to assign."""


class Takeover:
    def __init__(
        self, redis: RedisClient, index: InboxIndex, *, shards: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = redis
        self._index = index
        self._shards = shards
        self._clock = clock
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._assign = redis.register_script(_ASSIGN)

    def _keys(self, conv: str) -> list[str]:
        return [
            conversation_key(conv, "takeover", self._shards),
            conversation_key(conv, "handoff", self._shards),
        ]

    async def take(self, conv: str, staff: str, *, force: bool = False) -> None:
        """From the return of this call, the assistant sends nothing more to this person."""
        held = _s(await self._take(keys=self._keys(conv), args=[staff, self._clock(), "1" if force else ""]))
        if held:
            raise HeldByOtherError
        await self._index.note(conv, "taken")

    async def give_back(self, conv: str, staff: str, *, force: bool = False) -> None:
        held = _s(await self._give_back(keys=self._keys(conv), args=[staff, "1" if force else ""]))
        if held:
            raise HeldByOtherError
        await self._index.note(conv, "released")

    async def assign(self, conv: str, staff: str, to: str, *, force: bool = False) -> None:
        key = self._keys(conv)[:1]
        held = _s(await self._assign(keys=key, args=[staff, to, self._clock(), "1" if force else ""]))
        if held == "-":
            raise NotTakenError
        if held:
            raise HeldByOtherError
        await self._index.note(conv, "taken")

    async def holder(self, conv: str) -> Holder | None:
        raw = await self._redis.hgetall(self._keys(conv)[0])
        if not raw:
            return None
        f = {_s(k): _s(v) for k, v in raw.items()}
        return Holder(f["staff"], float(f["since"]))


def _s(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value
