"""The erasure fence: a per-subject epoch that every write of personal data checks atomically with the write.

`lc:{n}:c:<subject>:epoch` counts erasures, seqlock style: odd while an erasure runs, even once it finished
(missing = 0). A turn reads it when it claims the conversation (`Claim.epoch`, inside the claim script) and
carries it as a `Fence`; every later write of the person's data is a Lua script that first checks, on the
server, that the epoch is still the one the turn started with, even, and that no erasure is pending (the
consent overlay `erasure_pending`). So a turn that started before an erasure writes nothing after it: not
the vault, history, memo, T2 content, leads, handoff flag, nor a new data key (`ConversationStore`), and it
sends nothing (the reply ledger's `begin_send` checks the epoch too, `agent/messages/queue.py`).

The counter holds no data and outlives an erasure by a day (`EPOCH_TTL_S`, renewed by each claim): a turn
in flight loses its lease with the erasure, and its heartbeat cancels it long before that.

Every key a script touches is one subject's (`conversation_key`), so each script stays in one slot.

The fencing errors live here too: the queue's lease and this epoch are the two fences a turn holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.storage.keys import EPOCH_TTL_S, conversation_key, epoch_key
from pipelines.consent import Overlay

if TYPE_CHECKING:
    from collections.abc import Sequence

    from agent.storage.redis_client import RedisClient


class StaleLeaseError(Exception):
    """The lease was lost (expired and reclaimed); the holder must stop without side effects."""


class ErasedError(StaleLeaseError):
    """The subject was erased (or an erasure runs or is pending) since the turn began: it writes and sends
    nothing more."""


PENDING_FIELD = (
    f"o:{Overlay.ERASURE_PENDING.value}"  # in the subject's consent hash (agent/privacy/ledger.py)
)
FENCED_OUT = -2

# The prelude every fenced script starts with. KEYS[1]: epoch, KEYS[2]: consent hash; ARGV[1]: the epoch the
# writer started with ('' = not fenced: the operator or ingress, acting now), ARGV[2]: the pending field. The
# script's own keys and arguments follow from index 3.
FENCE_PRELUDE = """
if ARGV[1] ~= '' then
  local epoch = redis.call('GET', KEYS[1]) or '0'
  if epoch ~= ARGV[1] or tonumber(epoch) % 2 == 1 or redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then
    return -2
  end
end
"""

# Commands as groups of ARGV from index 3: name, index into KEYS, argument count, arguments...
_FENCED_WRITE = (
    FENCE_PRELUDE
    + """
local i = 3
while i <= #ARGV do
  local n = tonumber(ARGV[i + 2])
  redis.call(ARGV[i], KEYS[tonumber(ARGV[i + 1])], unpack(ARGV, i + 3, i + 2 + n))
  i = i + 3 + n
end
return 1
"""
)

_WRITES = frozenset({"SET", "RPUSH", "LTRIM", "EXPIRE", "ZADD", "ZREMRANGEBYSCORE", "HSET"})

_BEGIN = """
-- KEYS: epoch. Makes the epoch odd (an erasure runs); an erasure that crashed half-way keeps its odd value.
local e = tonumber(redis.call('GET', KEYS[1]) or '0')
if e % 2 == 0 then
  e = e + 1
  redis.call('SET', KEYS[1], e)
end
return e
"""

_RAISE = """
-- KEYS: epoch   ARGV: value, ttl_s (0: none). Never lowers it (the key store's copy may have missed a step).
local e = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > e then
  redis.call('SET', KEYS[1], ARGV[1])
  e = tonumber(ARGV[1])
end
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return e
"""


@dataclass(frozen=True, slots=True)
class Fence:
    """The erasure epoch a turn (or call) started with, for one subject."""

    subject: str
    epoch: int


Command = tuple[str, str, "Sequence[str | bytes | int | float]"]


class Epochs:
    """Reads and moves a subject's erasure epoch on one server (the data's, or the key store's copy)."""

    def __init__(self, redis: RedisClient, *, shards: int) -> None:
        self._redis = redis
        self._shards = shards
        self._begin = redis.register_script(_BEGIN)
        self._raise = redis.register_script(_RAISE)

    async def current(self, subject: str) -> Fence:
        raw = await self._redis.get(epoch_key(subject, self._shards))
        return Fence(subject, int(raw or 0))

    async def begin(self, subject: str) -> int:
        """An erasure starts: from now on no fenced write of an earlier turn goes through."""
        return int(await self._begin(keys=[epoch_key(subject, self._shards)]))

    async def raise_to(self, subject: str, value: int, *, ttl_s: int = 0) -> int:
        return int(await self._raise(keys=[epoch_key(subject, self._shards)], args=[value, ttl_s]))

    async def end(self, subject: str, began: int) -> None:
        """The erasure is done: even again, one past where it began. The counter holds no data and goes a
        day later (each claim renews it), when no turn that could have read the old value is left."""
        await self.raise_to(subject, began + 1, ttl_s=EPOCH_TTL_S)


class FencedWriter:
    """Runs a few writes of one subject's keys only while the fence holds; raises `ErasedError` otherwise."""

    def __init__(self, redis: RedisClient, *, shards: int) -> None:
        self._shards = shards
        self._script = redis.register_script(_FENCED_WRITE)

    def fence_keys(self, subject: str) -> list[str]:
        return [epoch_key(subject, self._shards), conversation_key(subject, "consent", self._shards)]

    def fence_args(self, fence: Fence | None) -> list[str | bytes | int | float]:
        return ["" if fence is None else fence.epoch, PENDING_FIELD]

    async def check(self, fence: Fence) -> None:
        """Before a side effect outside Redis (a tool's webhook): as atomic as such a thing can be."""
        await self.write(fence, [])

    async def write(self, fence: Fence, commands: Sequence[Command]) -> None:
        keys = self.fence_keys(fence.subject)
        args = self.fence_args(fence)
        for name, key, arguments in commands:
            if name not in _WRITES:
                raise ValueError(f"{name} is not a fenced write")
            if key not in keys:
                keys.append(key)
            args += [name, keys.index(key) + 1, len(arguments), *arguments]
        if int(await self._script(keys=keys, args=args)) == FENCED_OUT:
            raise ErasedError
