"""Redis transport: per-conversation mailboxes with leases and fencing tokens, retries, dead letters, reply ledger.

Why not one stream with a consumer group: it breaks per-conversation order and a blind MAXLEN trim loses
undelivered work (DESIGN.md §3). Instead every conversation has its own inbox stream; a conversation is
either *ready* (in its shard's `ready` sorted set, scored by the time it may run), *leased* (in `leases`,
scored by the lease expiry) or idle. A claim takes every pending entry of one conversation, so a burst of
messages becomes one turn. Every state change is a Lua script that checks the fencing token, so a worker
whose lease expired cannot acknowledge, send or overwrite anything.

Conversations are spread over `shards` hash tags (`lc:{3}:…`): all keys of a conversation and its shard's
indexes share a slot, so each script touches one slot. With a `redis+cluster://` URL the same code runs on
Redis Cluster (agent/storage/redis_client.py); the end-to-end and crash tests run on a local 3-primary cluster too.
The queue spreads over at most `shards` primaries (docs/cluster.md).

Dead-letter entries hold ids, kinds, counts and a reason, never message content (invariant 4).
"""

from __future__ import annotations

import base64
import json
import random
import time
import zlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from agent.storage.redis_client import run_script_many

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from agent.storage.redis_client import RedisClient

DAY_S = 86_400
# A subject's counters (lease fence, erasure epoch) outlive every turn that could have read them.
EPOCH_TTL_S = DAY_S


@dataclass(frozen=True, slots=True)
class QueueConfig:
    shards: int = 8  # fixed for a deployment: changing it re-homes conversations
    lease_ms: int = 30_000
    max_attempts: int = 5
    backoff_base_ms: int = 1_000
    backoff_max_ms: int = 60_000
    coalesce_ms: int = 0  # wait this long after a message for more of a burst before claiming
    max_batch: int = 10
    dedupe_ttl_s: int = 7 * DAY_S
    ledger_ttl_s: int = 7 * DAY_S
    dead_letter_cap: int = 10_000  # per shard (approximate MAXLEN): the oldest go first


@dataclass(frozen=True, slots=True)
class Job:
    entry_id: str
    message_id: str
    kind: str
    payload: dict[str, Any]


# A job's fields that stay in clear in the inbox (routing, ordering, the service window); the rest (the
# person's number or BSUID, profile name, text, media ids) is sealed with the conversation's data key.
CLEAR_FIELDS = ("tenant", "phone_number_id", "message_id", "timestamp", "kind", "original_type")


async def seal_payload(sealer: Sealer, conv: str, payload: dict[str, Any]) -> dict[str, Any]:
    clear = {k: payload[k] for k in CLEAR_FIELDS if k in payload}
    rest = {k: v for k, v in payload.items() if k not in clear}
    sealed = await sealer.seal(conv, json.dumps(rest, separators=(",", ":")).encode())
    return clear | {"sealed": base64.b64encode(sealed).decode()}


async def open_payload(sealer: Sealer, conv: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The job as ingress saw it (raises `SealError` once the person was erased)."""
    if "sealed" not in payload:  # enqueued before payloads were sealed
        return payload
    rest: dict[str, Any] = json.loads(await sealer.open(conv, base64.b64decode(payload["sealed"])))
    return {k: v for k, v in payload.items() if k != "sealed"} | rest


@dataclass(frozen=True, slots=True)
class Claim:
    conv: str
    shard: int
    fence: int
    attempts: int  # deliveries of this batch so far, this one included
    jobs: tuple[Job, ...]
    epoch: int = 0  # the subject's erasure epoch when claimed (agent/storage/erasure.py)


class ReplyState(StrEnum):
    SENDING = "sending"  # a send was started; if no "sent" follows, its outcome is unknown
    SENT = "sent"
    UNKNOWN = "unknown"  # the send may have reached the person (no usable answer, or a crash): never re-sent


@dataclass(frozen=True, slots=True)
class Backlog:
    ready: int  # conversations waiting to run
    in_flight: int  # conversations leased by a worker
    pending_messages: int  # entries not yet acknowledged, across all inboxes
    dead: int


class StaleLeaseError(Exception):
    """The lease was lost (expired and reclaimed); the holder must stop without side effects."""


class TakenOverError(Exception):
    """A person of the business took the conversation over since the turn began: the assistant sends nothing."""


class ErasedError(StaleLeaseError):
    """The subject was erased (or an erasure runs or is pending) since the turn began: it writes and sends
    nothing more (agent/storage/erasure.py)."""


_ENQUEUE = """
-- KEYS: seen, inbox, ready, leases   ARGV: payload, dedupe_ttl_s, conv, not_before_ms, message_id, kind
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('XADD', KEYS[2], '*', 'event', ARGV[1], 'id', ARGV[5], 'kind', ARGV[6])
if not redis.call('ZSCORE', KEYS[4], ARGV[3]) then
  redis.call('ZADD', KEYS[3], 'GT', ARGV[4], ARGV[3])
end
return 1
"""

_CLAIM = """
-- KEYS: ready, leases   ARGV: now_ms, lease_ms, worker, max_batch, conv_prefix, epoch_ttl_s
local now = tonumber(ARGV[1])
local picked = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)
if #picked == 0 then return false end
local conv = picked[1]
redis.call('ZREM', KEYS[1], conv)
local base = ARGV[5] .. conv
local entries = redis.call('XRANGE', base .. ':inbox', '-', '+', 'COUNT', tonumber(ARGV[4]))
if #entries == 0 then return false end
local fence = redis.call('INCR', base .. ':fence')
local attempts = redis.call('INCR', base .. ':attempts')
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), conv)
redis.call('HSET', base .. ':lease', 'fence', fence, 'worker', ARGV[3])
-- The fencing counter and the erasure epoch live a day past the last claim (or erasure): long enough for
-- any turn in flight; they hold no data, and an idle person's counters go.
redis.call('EXPIRE', base .. ':fence', ARGV[6])
local epoch = redis.call('GET', base .. ':epoch')
if epoch then redis.call('EXPIRE', base .. ':epoch', ARGV[6]) end
return {conv, fence, attempts, entries, epoch or '0'}
"""

_EXTEND = """
-- KEYS: leases   ARGV: conv, fence, conv_prefix, expires_ms
if redis.call('HGET', ARGV[3] .. ARGV[1] .. ':lease', 'fence') ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[4], ARGV[1])
return 1
"""

# Release a lease: optionally delete acknowledged entries, optionally dead-letter them, then make the
# conversation ready again (at `not_before`) if anything is left or it is to be retried.
_RELEASE = """
-- KEYS: ready, leases, dead
-- ARGV: conv, fence, conv_prefix, not_before_ms, mode (ack|retry|dead), reason, now_ms, ids_json, dead_json,
--       dead_cap
local base = ARGV[3] .. ARGV[1]
if redis.call('HGET', base .. ':lease', 'fence') ~= ARGV[2] then return 0 end
local mode = ARGV[5]
if mode ~= 'retry' then
  for _, id in ipairs(cjson.decode(ARGV[8])) do redis.call('XDEL', base .. ':inbox', id) end
  redis.call('DEL', base .. ':attempts')
  -- The memo (sealed transcripts, answers) only serves retries of this turn: no content outlives it.
  redis.call('DEL', base .. ':memo')
end
if mode == 'dead' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[10], '*', 'conv', ARGV[1], 'reason', ARGV[6], 'at', ARGV[7],
             'jobs', ARGV[9])
end
redis.call('DEL', base .. ':lease')
redis.call('ZREM', KEYS[2], ARGV[1])
if mode == 'retry' or redis.call('XLEN', base .. ':inbox') > 0 then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
end
return 1
"""

_RECLAIM = """
-- KEYS: ready, leases   ARGV: now_ms, conv_prefix
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, conv in ipairs(expired) do
  redis.call('ZREM', KEYS[2], conv)
  redis.call('DEL', ARGV[2] .. conv .. ':lease')
  redis.call('ZADD', KEYS[1], ARGV[1], conv)
end
return #expired
"""

_BEGIN_SEND = """
-- KEYS: replied   ARGV: conv_prefix, conv, fence, ttl_s, epoch, message ids...
-- The fence is kept beside 'sending': a client retry of this same call (its first reply lost when Redis
-- went away after running it) must find the send still its own, not "already answered".
-- An erasure since the claim (the epoch moved) stops the send: nothing reaches a person erased meanwhile.
if (redis.call('GET', ARGV[1] .. ARGV[2] .. ':epoch') or '0') ~= ARGV[5] then return -2 end
if redis.call('HGET', ARGV[1] .. ARGV[2] .. ':lease', 'fence') ~= ARGV[3] then return -1 end
-- A person of the business took the conversation over (agent/console/takeover.py): the assistant's turn,
-- also one already in flight, sends nothing from that moment on.
if redis.call('EXISTS', ARGV[1] .. ARGV[2] .. ':takeover') == 1 then return -3 end
for i = 6, #ARGV do
  local state = redis.call('HGET', KEYS[1], ARGV[i])
  if state and not (state == 'sending' and redis.call('HGET', KEYS[1], 'fence:' .. ARGV[i]) == ARGV[3]) then
    return 0
  end
end
for i = 6, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], 'sending', 'fence:' .. ARGV[i], ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

_ABORT_SEND = """
-- KEYS: replied   ARGV: conv_prefix, conv, fence, message ids...
if redis.call('HGET', ARGV[1] .. ARGV[2] .. ':lease', 'fence') ~= ARGV[3] then return 0 end
for i = 4, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == 'sending' then
    redis.call('HDEL', KEYS[1], ARGV[i], 'fence:' .. ARGV[i])
  end
end
return 1
"""

_FENCED_HSET = """
-- KEYS: hash   ARGV: conv_prefix, conv, fence, ttl_s, epoch, field, value, [field, value ...]
-- Memo and ledger: written only under the lease, and only while no erasure ran or runs since the claim.
local epoch = redis.call('GET', ARGV[1] .. ARGV[2] .. ':epoch') or '0'
if epoch ~= ARGV[5] or tonumber(epoch) % 2 == 1 then return -2 end
if redis.call('HGET', ARGV[1] .. ARGV[2] .. ':lease', 'fence') ~= ARGV[3] then return 0 end
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


def shard_of(conv: str, shards: int) -> int:
    return zlib.crc32(conv.encode()) % shards


def conversation_key(conv: str, suffix: str, shards: int) -> str:
    """A key of one conversation, in the same slot as its inbox (for stores that live beside the queue)."""
    return _ShardKeys(shard_of(conv, shards)).conv(conv, suffix)


@dataclass(frozen=True, slots=True)
class _ShardKeys:
    shard: int
    prefix: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", f"lc:{{{self.shard}}}:")

    @property
    def ready(self) -> str:
        return self.prefix + "ready"

    @property
    def leases(self) -> str:
        return self.prefix + "leases"

    @property
    def dead(self) -> str:
        return self.prefix + "dead"

    @property
    def conv_prefix(self) -> str:
        return self.prefix + "c:"

    def conv(self, conv: str, suffix: str) -> str:
        return f"{self.prefix}c:{conv}:{suffix}"

    def seen(self, message_id: str) -> str:
        return f"{self.prefix}seen:{message_id}"


class ConversationQueue:
    """Durable per-conversation work queue; `clock` (seconds) is injectable so tests control time."""

    def __init__(
        self,
        redis: RedisClient,
        config: QueueConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._redis = redis
        self.config = config or QueueConfig()
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._next_shard = 0
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self._extend = redis.register_script(_EXTEND)
        self._release = redis.register_script(_RELEASE)
        self._reclaim = redis.register_script(_RECLAIM)
        self._begin_send = redis.register_script(_BEGIN_SEND)
        self._abort_send = redis.register_script(_ABORT_SEND)
        self._fenced_hset = redis.register_script(_FENCED_HSET)

    def _keys(self, conv: str) -> _ShardKeys:
        return _ShardKeys(shard_of(conv, self.config.shards))

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # ingress ------------------------------------------------------------------------------------------

    async def enqueue(self, conv: str, message_id: str, kind: str, payload: dict[str, Any]) -> bool:
        """Store one inbound message unless its id was seen before; False for a duplicate."""
        (added,) = await self.enqueue_many([(conv, message_id, kind, payload)])
        return added

    async def enqueue_many(self, items: Sequence[tuple[str, str, str, dict[str, Any]]]) -> list[bool]:
        """Dedupe + append atomically per message; one round trip (per node, on a cluster)."""
        not_before = self._now_ms() + self.config.coalesce_ms

        def call(item: tuple[str, str, str, dict[str, Any]]) -> tuple[list[str], list[Any]]:
            conv, message_id, kind, payload = item
            k = self._keys(conv)
            return (
                [k.seen(message_id), k.conv(conv, "inbox"), k.ready, k.leases],
                [
                    json.dumps(payload, separators=(",", ":")),
                    self.config.dedupe_ttl_s,
                    conv,
                    not_before,
                    message_id,
                    kind,
                ],
            )

        calls = [call(item) for item in items]
        if len(calls) <= 1:  # the usual webhook: one EVALSHA; a pipeline would first check its scripts exist
            return [bool(await self._enqueue(keys=keys, args=args)) for keys, args in calls]
        return [bool(r) for r in await run_script_many(self._redis, self._enqueue, calls)]

    # worker -------------------------------------------------------------------------------------------

    async def claim(self, worker: str) -> Claim | None:
        """The next runnable conversation of any shard (round robin), leased to `worker`."""
        for _ in range(self.config.shards):
            shard = self._next_shard
            self._next_shard = (shard + 1) % self.config.shards
            k = _ShardKeys(shard)
            raw = await self._claim(
                keys=[k.ready, k.leases],
                args=[
                    self._now_ms(),
                    self.config.lease_ms,
                    worker,
                    self.config.max_batch,
                    k.conv_prefix,
                    EPOCH_TTL_S,
                ],
            )
            if raw:
                conv, fence, attempts, entries, epoch = raw
                jobs = tuple(_job(entry) for entry in entries)
                return Claim(_s(conv), shard, int(fence), int(attempts), jobs, int(epoch))
        return None

    async def extend(self, claim: Claim) -> None:
        k = _ShardKeys(claim.shard)
        expires = self._now_ms() + self.config.lease_ms
        ok = await self._extend(keys=[k.leases], args=[claim.conv, claim.fence, k.conv_prefix, expires])
        if not ok:
            raise StaleLeaseError

    async def ack(self, claim: Claim, jobs: Sequence[Job] | None = None) -> None:
        """Delete the finished entries (all of the claim's by default) and release the conversation."""
        done = claim.jobs if jobs is None else jobs
        await self._release_lease(claim, "ack", self._now_ms(), "", done)

    async def retry(self, claim: Claim) -> float:
        """Release for another attempt after exponential backoff with full jitter; returns the delay (s)."""
        cap = min(self.config.backoff_max_ms, self.config.backoff_base_ms * 2 ** (claim.attempts - 1))
        delay_ms = self._rng.uniform(cap / 2, cap)
        await self._release_lease(claim, "retry", self._now_ms() + int(delay_ms), "", ())
        return delay_ms / 1000

    async def dead_letter(self, claim: Claim, reason: str, jobs: Sequence[Job] | None = None) -> None:
        """Move entries to the shard's dead-letter stream with a content-free reason."""
        await self._release_lease(claim, "dead", self._now_ms(), reason, claim.jobs if jobs is None else jobs)

    async def _release_lease(
        self, claim: Claim, mode: str, not_before: int, reason: str, jobs: Sequence[Job]
    ) -> None:
        k = _ShardKeys(claim.shard)
        ids = json.dumps([j.entry_id for j in jobs])
        dead = json.dumps([{"id": j.message_id, "kind": j.kind} for j in jobs])
        ok = await self._release(
            keys=[k.ready, k.leases, k.dead],
            args=[
                claim.conv,
                claim.fence,
                k.conv_prefix,
                not_before,
                mode,
                reason,
                self._now_ms(),
                ids,
                dead,
                self.config.dead_letter_cap,
            ],
        )
        if not ok:
            raise StaleLeaseError

    async def reclaim_expired(self) -> int:
        """Make conversations whose lease expired (crashed or hung worker) ready again."""
        total = 0
        for shard in range(self.config.shards):
            k = _ShardKeys(shard)
            total += int(await self._reclaim(keys=[k.ready, k.leases], args=[self._now_ms(), k.conv_prefix]))
        return total

    # reply ledger and memo ------------------------------------------------------------------------------

    async def reply_states(self, claim: Claim) -> dict[str, ReplyState]:
        """Which of the claim's messages already have a reply started or sent (by an earlier attempt)."""
        k = _ShardKeys(claim.shard)
        ids = [j.message_id for j in claim.jobs]
        values = await self._redis.hmget(k.conv(claim.conv, "replied"), ids)
        return {i: ReplyState(_s(v)) for i, v in zip(ids, values, strict=True) if v is not None}

    async def begin_send(self, claim: Claim, jobs: Sequence[Job]) -> bool:
        """Record that a reply to these messages is being sent. False if one already has a reply."""
        k = _ShardKeys(claim.shard)
        result = int(
            await self._begin_send(
                keys=[k.conv(claim.conv, "replied")],
                args=[
                    k.conv_prefix,
                    claim.conv,
                    claim.fence,
                    self.config.ledger_ttl_s,
                    claim.epoch,
                    *(j.message_id for j in jobs),
                ],
            )
        )
        if result == -2:
            raise ErasedError
        if result == -3:
            raise TakenOverError
        if result < 0:
            raise StaleLeaseError
        return result == 1

    async def abort_send(self, claim: Claim, jobs: Sequence[Job]) -> None:
        """The send was definitely refused (Meta answered with an error): a later attempt may send."""
        k = _ShardKeys(claim.shard)
        ok = await self._abort_send(
            keys=[k.conv(claim.conv, "replied")],
            args=[k.conv_prefix, claim.conv, claim.fence, *(j.message_id for j in jobs)],
        )
        if not ok:
            raise StaleLeaseError

    async def mark_sent(self, claim: Claim, jobs: Sequence[Job]) -> None:
        await self._fenced_set(claim, "replied", [(j.message_id, ReplyState.SENT.value) for j in jobs])

    async def mark_unknown(self, claim: Claim, jobs: Sequence[Job]) -> None:
        """The send may or may not have reached the person: no attempt, here or elsewhere, sends it again."""
        await self._fenced_set(claim, "replied", [(j.message_id, ReplyState.UNKNOWN.value) for j in jobs])

    async def memo(self, claim: Claim, name: str) -> bytes | None:
        """A result an earlier attempt of this turn already paid for (transcript, answer, media id)."""
        k = _ShardKeys(claim.shard)
        value = await self._redis.hget(k.conv(claim.conv, "memo"), name)
        return value.encode() if isinstance(value, str) else value

    async def remember(self, claim: Claim, name: str, value: bytes) -> None:
        await self._fenced_set(claim, "memo", [(name, value)])

    async def _fenced_set(self, claim: Claim, suffix: str, pairs: Sequence[tuple[str, str | bytes]]) -> None:
        k = _ShardKeys(claim.shard)
        flat = [x for pair in pairs for x in pair]
        ok = await self._fenced_hset(
            keys=[k.conv(claim.conv, suffix)],
            args=[k.conv_prefix, claim.conv, claim.fence, self.config.ledger_ttl_s, claim.epoch, *flat],
        )
        if ok == -2:
            raise ErasedError
        if not ok:
            raise StaleLeaseError

    # observability --------------------------------------------------------------------------------------

    async def backlog(self) -> Backlog:
        """What autoscaling should look at: work not yet acknowledged, not the length of some stream."""
        ready = in_flight = pending = dead = 0
        for shard in range(self.config.shards):
            k = _ShardKeys(shard)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zrange(k.ready, 0, -1)
                pipe.zrange(k.leases, 0, -1)
                pipe.xlen(k.dead)
                ready_convs, leased_convs, dead_n = await pipe.execute()
            ready += len(ready_convs)
            in_flight += len(leased_convs)
            dead += int(dead_n)
            convs = {_s(c) for c in ready_convs} | {_s(c) for c in leased_convs}
            if convs:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for conv in convs:
                        pipe.xlen(k.conv(conv, "inbox"))
                    pending += sum(int(n) for n in await pipe.execute())
        return Backlog(ready, in_flight, pending, dead)

    async def dead_letters(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for shard in range(self.config.shards):
            entries: list[Any] = await self._redis.xrange(_ShardKeys(shard).dead) or []
            for entry_id, fields in entries:
                row = {_s(k): _s(v) for k, v in fields.items()}
                out.append({"entry": _s(entry_id), "shard": shard, **row, "jobs": json.loads(row["jobs"])})
        return out


async def forget_dead_letters(redis: RedisClient, conv: str, shards: int) -> int:
    """Erasure: the conversation's dead-letter entries (ids and reasons, but linkable) leave its shard's
    stream, which is capped (`QueueConfig.dead_letter_cap`), so the pass is bounded."""
    return await _drop_entries(redis, _ShardKeys(shard_of(conv, shards)).dead, b"conv", conv)


async def _drop_entries(redis: RedisClient, stream: str, field: bytes, value: str) -> int:
    """Delete a bounded stream's entries whose `field` is `value`, one page at a time."""
    doomed: list[Any] = []
    start = "-"
    while True:
        page: list[Any] = await redis.xrange(stream, min=start, max="+", count=500) or []
        doomed += [entry_id for entry_id, fields in page if _s(fields.get(field, b"")) == value]
        if len(page) < 500:
            break
        start = "(" + _s(page[-1][0])
    return int(await redis.xdel(stream, *doomed)) if doomed else 0


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _job(entry: list[Any]) -> Job:
    entry_id, flat = entry
    fields = {_s(flat[i]): _s(flat[i + 1]) for i in range(0, len(flat), 2)}
    return Job(_s(entry_id), fields["id"], fields["kind"], json.loads(fields["event"]))


_ENQUEUE_CALL = """
-- KEYS: seen, stream   ARGV: sealed, dedupe_ttl_s, call_id, event, tenant, subject, keep_ms
-- The stream keeps only what a call can still need (MINID, on the server's clock like the entry ids).
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return 0 end
local now = redis.call('TIME')
local min_id = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[7])
redis.call('XADD', KEYS[2], 'MINID', min_id, '*', 'sealed', ARGV[1], 'call_id', ARGV[3], 'kind', ARGV[4],
           'tenant', ARGV[5], 'subject', ARGV[6])
return 1
"""


class Sealer(Protocol):
    """Seals with a subject's data key (`ConversationStore`): erasing the key makes every copy unreadable."""

    async def seal(self, conv: str, plaintext: bytes) -> bytes: ...

    async def open(self, conv: str, sealed: bytes) -> bytes: ...


class CallQueue:
    """Call signaling events (connect, terminate, …) for the call workers, deduped on (call id, event).

    One stream: a call has one owner (the worker that answers `connect`), and events must reach it fast.
    An entry's content (the caller's number, the SDP with their IP addresses) is sealed with the caller's
    data key; in clear are only the call id, the event, the tenant and the caller's subject reference, so
    erasure and tenant deletion find their entries. Entries older than `keep_s` are trimmed as new ones come.
    """

    STREAM = "lc:{calls}:events"

    def __init__(
        self,
        redis: RedisClient,
        sealer: Sealer,
        *,
        dedupe_ttl_s: int = DAY_S,
        keep_s: int = 6 * 3600,
    ) -> None:
        """`keep_s`: how long an event may still matter (a call's `terminate` comes at its end)."""
        self._redis = redis
        self._sealer = sealer
        self._dedupe_ttl_s = dedupe_ttl_s
        self._keep_ms = keep_s * 1000
        self._enqueue = redis.register_script(_ENQUEUE_CALL)

    async def enqueue_many(self, items: Sequence[tuple[str, str, str, dict[str, Any]]]) -> list[bool]:
        """(call id, event, caller's subject, payload with a `tenant`) each; True where it was new."""
        sealed = [
            await self._sealer.seal(subject, json.dumps(payload, separators=(",", ":")).encode())
            for _, _, subject, payload in items
        ]
        calls = [
            (
                [f"lc:{{calls}}:seen:{call_id}:{event}", self.STREAM],
                [value, self._dedupe_ttl_s, call_id, event, payload["tenant"], subject, self._keep_ms],
            )
            for (call_id, event, subject, payload), value in zip(items, sealed, strict=True)
        ]
        return [bool(r) for r in await run_script_many(self._redis, self._enqueue, calls)]

    async def read(self, fields: Mapping[bytes, bytes]) -> dict[str, Any]:
        """An entry's event, opened (raises `SealError` once the caller was erased)."""
        if b"sealed" not in fields:  # written before events were sealed (a rolling upgrade)
            legacy: dict[str, Any] = json.loads(fields[b"event"])
            return legacy
        opened: dict[str, Any] = json.loads(
            await self._sealer.open(_s(fields[b"subject"]), fields[b"sealed"])
        )
        return opened

    async def forget(self, *, subject: str | None = None, tenant: str | None = None) -> int:
        """Erasure (one subject) or tenant deletion: their entries leave the stream. It holds hours of
        events at most, so a pass over it is bounded."""
        field, value = (b"subject", subject) if subject is not None else (b"tenant", tenant)
        if value is None:
            raise ValueError("forget needs a subject or a tenant")
        return await _drop_entries(self._redis, self.STREAM, field, value)
