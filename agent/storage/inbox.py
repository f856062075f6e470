"""The staff console's index of conversations waiting for a person or taken over, and its live event stream.

Per tenant, in the tenant's slot (`lc:tenant:{T}:…`): `inbox:waiting` and `inbox:taken` (sorted sets of
conversation references scored by the time they entered) and `inbox:events` (a capped stream of
`kind` + `conv` the console's Server-Sent Events follow), and `inbox:recent` (the conversations people wrote in
last, capped). Only conversation references (HMACs) and kinds,
never content. The per-conversation flags (`handoff`, `takeover`) are the truth; this index is what the
inbox lists, written before the flag so a crash between the two shows a conversation rather than losing it
(the console drops entries whose flag is gone).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

    from agent.storage.redis_client import RedisClient

EventKind = Literal["waiting", "taken", "released", "message", "reply"]

# KEYS: waiting, taken, events, recent, counts   ARGV: kind, conv, now, cap, recent cap, withheld messages
# waiting: into the waiting set unless already taken (a HUMAN typed to a person already answering);
# taken: out of waiting into taken; released: out of both; message: the person wrote (recent conversations;
# `counts` totals the messages withheld for staff, for unread counts); reply: only the event.
_MOVE = """
if ARGV[1] == 'waiting' then
  if redis.call('ZSCORE', KEYS[2], ARGV[2]) then return 0 end
  redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[2])
elseif ARGV[1] == 'taken' then
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[2])
elseif ARGV[1] == 'released' then
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[2])
elseif ARGV[1] == 'message' then
  redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -tonumber(ARGV[5]) - 1)
  if tonumber(ARGV[6]) > 0 then redis.call('HINCRBY', KEYS[5], ARGV[2], ARGV[6]) end
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'kind', ARGV[1], 'conv', ARGV[2])
return 1
"""


def inbox_key(tenant: str, suffix: str) -> str:
    return f"lc:tenant:{{{tenant}}}:inbox:{suffix}"


@dataclass(frozen=True, slots=True)
class InboxEvent:
    id: str
    kind: str
    conv: str


class InboxIndex:
    def __init__(
        self,
        redis: RedisClient,
        *,
        clock: Callable[[], float] = time.time,
        events_cap: int = 1000,
        recent_cap: int = 50,
    ) -> None:
        self._redis = redis
        self._recent_cap = recent_cap
        self._clock = clock
        self._cap = events_cap
        self._move = redis.register_script(_MOVE)

    async def note(self, conv: str, kind: EventKind, *, withheld: int = 0) -> None:
        """`withheld`: with `message`, how many of the person's messages were kept for staff (unread)."""
        tenant = conv.split(":", 1)[0]
        keys = [inbox_key(tenant, s) for s in ("waiting", "taken", "events", "recent", "counts")]
        await self._move(keys=keys, args=[kind, conv, self._clock(), self._cap, self._recent_cap, withheld])

    async def mark_read(self, staff: str, conv: str) -> None:
        """`staff` (an e-mail reference) has read everything the person wrote in `conv` so far."""
        tenant = conv.split(":", 1)[0]
        total = await self._redis.hget(inbox_key(tenant, "counts"), conv)
        await self._redis.hset(inbox_key(tenant, f"read:{staff}"), conv, int(total or 0))

    async def unread(self, tenant: str, staff: str, convs: list[str]) -> dict[str, int]:
        """Per conversation, the person's withheld messages `staff` has not opened yet."""
        if not convs:
            return {}
        totals = await self._redis.hmget(inbox_key(tenant, "counts"), convs)
        read = await self._redis.hmget(inbox_key(tenant, f"read:{staff}"), convs)
        return {c: int(t or 0) - int(r or 0) for c, t, r in zip(convs, totals, read, strict=True)}

    async def listing(self, tenant: str) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """(waiting, taken): conversation references with the time they entered, oldest first."""
        waiting: list[Any] = await self._redis.zrange(inbox_key(tenant, "waiting"), 0, -1, withscores=True)
        taken: list[Any] = await self._redis.zrange(inbox_key(tenant, "taken"), 0, -1, withscores=True)
        return [(_s(c), float(t)) for c, t in waiting], [(_s(c), float(t)) for c, t in taken]

    async def recent(self, tenant: str) -> list[tuple[str, float]]:
        """The conversations people wrote in last, newest first, with the time of their last message."""
        rows: list[Any] = await self._redis.zrevrange(inbox_key(tenant, "recent"), 0, -1, withscores=True)
        return [(_s(c), float(t)) for c, t in rows]

    async def forget(self, conv: str) -> None:
        """An entry whose flag is gone (given back by an older console, or the person erased)."""
        tenant = conv.split(":", 1)[0]
        async with self._redis.pipeline(transaction=True) as pipe:
            for suffix in ("waiting", "taken", "recent"):
                pipe.zrem(inbox_key(tenant, suffix), conv)
            await pipe.execute()

    async def last_event_id(self, tenant: str) -> str:
        last: list[Any] = await self._redis.xrevrange(inbox_key(tenant, "events"), count=1) or []
        return _s(last[0][0]) if last else "0-0"

    async def events(self, tenant: str, after: str, *, block_ms: int) -> list[InboxEvent]:
        """Events after `after` (an event id), waiting up to `block_ms` for the first."""
        key = inbox_key(tenant, "events")
        found: Any = await self._redis.xread({key: after}, block=block_ms, count=100) or []
        out: list[InboxEvent] = []
        for _stream, entries in found.items() if isinstance(found, dict) else found:  # RESP3 or RESP2
            for entry_id, fields in entries:
                f = {_s(k): _s(v) for k, v in fields.items()}
                out.append(InboxEvent(_s(entry_id), f["kind"], f["conv"]))
        return out


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
