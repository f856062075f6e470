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
import dataclasses
import hashlib
import json
import random
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from agent.storage.erasure import ErasedError, StaleLeaseError
from agent.storage.keyring import SealError
from agent.storage.keys import CALL_EVENTS, DEFAULT_SHARDS, EPOCH_TTL_S, ShardKeys, call_seen, shard_of
from agent.storage.redis_client import run_script_many

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from agent.storage.erasure import Fence
    from agent.storage.redis_client import RedisClient

DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class QueueConfig:
    shards: int = DEFAULT_SHARDS  # fixed for a deployment (agent/storage/keys.py)
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

    @property
    def accepted_ms(self) -> int:
        """When ingress queued it, in Unix ms on the Redis server's clock (a stream entry's id)."""
        return int(self.entry_id.split("-", 1)[0])


# A job's fields that stay in clear in the inbox (routing, ordering, the service window, the format's
# version); the rest (the person's number or BSUID, profile name, text, media ids) is sealed with the
# conversation's data key.
CLEAR_FIELDS = ("version", "tenant", "phone_number_id", "message_id", "timestamp", "kind", "original_type")

MESSAGE_VERSION = 1  # `QueuedMessage.to_fields()`: entries written before the field existed are version 1
CALL_EVENT_VERSION = 1


class QueueFormatError(ValueError):
    """A queue entry this process cannot read (an unknown version, a missing or mistyped field). No retry
    can fix it: it is dead-lettered with `reason`. The message names the problem, never content."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _version(fields: Mapping[str, Any], known: int, what: str) -> None:
    version = fields.get("version", 1)
    if version != known:
        shown = version if isinstance(version, int) else type(version).__name__
        raise QueueFormatError(
            "unknown_version", f"{what} version {shown} (this process reads version {known})"
        )


@dataclass(frozen=True, slots=True)
class QueuedMedia:
    """Enough to fetch and check an inbound media object."""

    id: str
    mime_type: str | None = None
    sha256: str | None = None
    voice: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedMessage:
    """One inbound message as a conversation's inbox holds it (opened): what a worker needs to answer it."""

    tenant: str
    phone_number_id: str
    message_id: str
    to: str  # the wa_id, or the BSUID when Meta sent no phone number
    profile_name: str | None
    timestamp: int
    kind: str  # text, audio, interactive, unsupported
    original_type: str
    text: str | None
    media: QueuedMedia | None
    version: int = MESSAGE_VERSION

    def to_fields(self) -> dict[str, Any]:
        # By hand rather than `dataclasses.asdict` (which deep-copies): this runs for every webhook message.
        media = self.media
        return {
            "version": self.version,
            "tenant": self.tenant,
            "phone_number_id": self.phone_number_id,
            "message_id": self.message_id,
            "to": self.to,
            "profile_name": self.profile_name,
            "timestamp": self.timestamp,
            "kind": self.kind,
            "original_type": self.original_type,
            "text": self.text,
            "media": None
            if media is None
            else {"id": media.id, "mime_type": media.mime_type, "sha256": media.sha256, "voice": media.voice},
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> QueuedMessage:
        """Raises `QueueFormatError` for another version or a field missing or of the wrong type."""
        _version(fields, MESSAGE_VERSION, "queued message")
        try:
            media = fields.get("media")
            return cls(
                tenant=_text(fields["tenant"]),
                phone_number_id=_text(fields["phone_number_id"]),
                message_id=_text(fields["message_id"]),
                to=_text(fields["to"]),
                profile_name=_optional_text(fields.get("profile_name")),
                timestamp=int(fields["timestamp"]),
                kind=_text(fields["kind"]),
                original_type=_text(fields.get("original_type", fields["kind"])),
                text=_optional_text(fields.get("text")),
                media=QueuedMedia(**media) if media is not None else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise QueueFormatError("malformed_message", f"queued message: {type(exc).__name__}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedCall:
    """One call signaling event as the call stream holds it (opened)."""

    tenant: str
    subject: str  # the caller's subject: their key seals the event, the call acts on their conversation
    call_id: str
    event: str  # connect, terminate, ...
    phone_number_id: str
    user_key: str
    wa_id: str | None = None
    timestamp: int
    sdp: str | None = None
    sdp_type: str | None = None
    status: str | None = None
    version: int = CALL_EVENT_VERSION

    def to_fields(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> QueuedCall:
        """Raises `QueueFormatError` for another version or a field missing or of the wrong type."""
        _version(fields, CALL_EVENT_VERSION, "call event")
        try:
            return cls(
                tenant=_text(fields["tenant"]),
                subject=_text(fields["subject"]),
                call_id=_text(fields["call_id"]),
                event=_text(fields["event"]),
                phone_number_id=_text(fields["phone_number_id"]),
                user_key=_text(fields["user_key"]),
                wa_id=_optional_text(fields.get("wa_id")),
                timestamp=int(fields["timestamp"]),
                sdp=_optional_text(fields.get("sdp")),
                sdp_type=_optional_text(fields.get("sdp_type")),
                status=_optional_text(fields.get("status")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise QueueFormatError("malformed_call_event", f"call event: {type(exc).__name__}") from None


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


async def seal_payload(sealer: Sealer, conv: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    clear = {k: payload[k] for k in CLEAR_FIELDS if k in payload}
    rest = {k: v for k, v in payload.items() if k not in clear}
    sealed = await sealer.seal(conv, json.dumps(rest, separators=(",", ":")).encode())
    return clear | {"sealed": base64.b64encode(sealed).decode()}


async def open_payload(sealer: Sealer, conv: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The job as ingress saw it (raises `SealError` once the person was erased)."""
    if "sealed" not in payload:  # enqueued before payloads were sealed
        return dict(payload)
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

    @property
    def tenant(self) -> str:
        """A conversation is `tenant:subject`."""
        return self.conv.split(":", 1)[0]


@dataclass(frozen=True, slots=True)
class Batch:
    """A claim's messages opened and typed, beside the jobs they came in (which the ledger and acks name)."""

    jobs: tuple[Job, ...]
    messages: tuple[QueuedMessage, ...]

    @property
    def tenant(self) -> str:
        return self.messages[0].tenant

    @property
    def first(self) -> QueuedMessage:
        return self.messages[0]

    @property
    def last(self) -> QueuedMessage:
        return self.messages[-1]

    @property
    def has_audio(self) -> bool:
        return any(m.kind == "audio" for m in self.messages)

    @property
    def accepted_ms(self) -> int:
        """When its oldest message was queued (Unix ms, the Redis server's clock)."""
        return min(j.accepted_ms for j in self.jobs)

    @property
    def digest(self) -> str:
        """Names the batch's memoized steps and its tools' turn."""
        return hashlib.sha256("\0".join(m.message_id for m in self.messages).encode()).hexdigest()[:16]

    def without(self, message_ids: Mapping[str, object]) -> Batch:
        """The batch less the messages in `message_ids` (those an earlier attempt answered)."""
        kept = [
            (j, m) for j, m in zip(self.jobs, self.messages, strict=True) if j.message_id not in message_ids
        ]
        return Batch(tuple(j for j, _ in kept), tuple(m for _, m in kept))


async def open_batch(sealer: Sealer, claim: Claim) -> Batch:
    """The claim's messages as ingress queued them (raises `SealError` once the person was erased, and
    `QueueFormatError` for an entry this worker cannot read)."""
    messages = [
        QueuedMessage.from_fields(await open_payload(sealer, claim.conv, job.payload)) for job in claim.jobs
    ]
    return Batch(claim.jobs, tuple(messages))


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


class TakenOverError(Exception):
    """A person of the business took the conversation over since the turn began: the assistant sends nothing."""


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

    def _keys(self, conv: str) -> ShardKeys:
        return ShardKeys(shard_of(conv, self.config.shards))

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
            k = ShardKeys(shard)
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
        k = ShardKeys(claim.shard)
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
        k = ShardKeys(claim.shard)
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
            k = ShardKeys(shard)
            total += int(await self._reclaim(keys=[k.ready, k.leases], args=[self._now_ms(), k.conv_prefix]))
        return total

    # reply ledger and memo ------------------------------------------------------------------------------

    async def reply_states(self, claim: Claim) -> dict[str, ReplyState]:
        """Which of the claim's messages already have a reply started or sent (by an earlier attempt)."""
        k = ShardKeys(claim.shard)
        ids = [j.message_id for j in claim.jobs]
        values = await self._redis.hmget(k.conv(claim.conv, "replied"), ids)
        return {i: ReplyState(_s(v)) for i, v in zip(ids, values, strict=True) if v is not None}

    async def begin_send(self, claim: Claim, jobs: Sequence[Job]) -> bool:
        """Record that a reply to these messages is being sent. False if one already has a reply."""
        k = ShardKeys(claim.shard)
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
        k = ShardKeys(claim.shard)
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
        k = ShardKeys(claim.shard)
        value = await self._redis.hget(k.conv(claim.conv, "memo"), name)
        return value.encode() if isinstance(value, str) else value

    async def remember(self, claim: Claim, name: str, value: bytes) -> None:
        await self._fenced_set(claim, "memo", [(name, value)])

    async def _fenced_set(self, claim: Claim, suffix: str, pairs: Sequence[tuple[str, str | bytes]]) -> None:
        k = ShardKeys(claim.shard)
        flat = [x for pair in pairs for x in pair]
        ok = await self._fenced_hset(
            keys=[k.conv(claim.conv, suffix)],
            args=[k.conv_prefix, claim.conv, claim.fence, self.config.ledger_ttl_s, claim.epoch, *flat],
        )
        if ok == -2:
            raise ErasedError
        if not ok:
            raise StaleLeaseError

    def memo_of(self, claim: Claim, sealer: Sealer, fence: Fence) -> ClaimMemo:
        """The turn memo (`pipelines.turn.Memo`) of this claim."""
        return ClaimMemo(self, sealer, claim, fence)

    # observability --------------------------------------------------------------------------------------

    async def backlog(self) -> Backlog:
        """What autoscaling should look at: work not yet acknowledged, not the length of some stream."""
        ready = in_flight = pending = dead = 0
        for shard in range(self.config.shards):
            k = ShardKeys(shard)
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
            entries: list[Any] = await self._redis.xrange(ShardKeys(shard).dead) or []
            for entry_id, fields in entries:
                row = {_s(k): _s(v) for k, v in fields.items()}
                out.append({"entry": _s(entry_id), "shard": shard, **row, "jobs": json.loads(row["jobs"])})
        return out


class ClaimMemo:
    """The turn memo of one claim: each step's result sealed with the conversation's data key and written
    under the claim's lease and erasure fence, so only a retry of this same turn reads it. What this attempt
    kept or read stays in memory: it is never read back and opened again."""

    def __init__(self, queue: ConversationQueue, sealer: Sealer, claim: Claim, fence: Fence) -> None:
        self._queue = queue
        self._sealer = sealer
        self._claim = claim
        self._fence = fence
        self._known: dict[str, bytes] = {}

    async def recall(self, step: str) -> bytes | None:
        if step in self._known:
            return self._known[step]
        sealed = await self._queue.memo(self._claim, step)
        if sealed is None:
            return None
        value = await self._sealer.open(self._claim.conv, sealed)
        self._known[step] = value
        return value

    async def keep(self, step: str, value: bytes) -> None:
        sealed = await self._sealer.seal(self._claim.conv, value, fence=self._fence)
        await self._queue.remember(self._claim, step, sealed)
        self._known[step] = value


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
    """Seals with a subject's data key (`ConversationStore`): erasing the key makes every copy unreadable.
    `fence`: a turn's, which must not recreate the key of a person erased since it began."""

    async def seal(self, conv: str, plaintext: bytes, *, fence: Fence | None = None) -> bytes: ...

    async def open(self, conv: str, sealed: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class CallEntry:
    """One entry of the call stream: its event, or None and the reason it cannot be read."""

    entry_id: str  # the read position after it
    call_id: str
    event: QueuedCall | None
    unreadable: str = ""


class CallQueue:
    """Call signaling events (connect, terminate, …) for the call workers, deduped on (call id, event).

    One stream: a call has one owner (the worker that answers `connect`), and events must reach it fast.
    An entry's content (the caller's number, the SDP with their IP addresses) is sealed with the caller's
    data key; in clear are only the call id, the event, the tenant and the caller's subject reference, so
    erasure and tenant deletion find their entries. Entries older than `keep_s` are trimmed as new ones come.
    """

    STREAM = CALL_EVENTS

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

    async def enqueue_many(self, events: Sequence[QueuedCall]) -> list[bool]:
        """Each event sealed with its caller's key; True where it was new (not seen by call id and event)."""
        sealed = [
            await self._sealer.seal(e.subject, json.dumps(e.to_fields(), separators=(",", ":")).encode())
            for e in events
        ]
        calls = [
            (
                [call_seen(e.call_id, e.event), self.STREAM],
                [value, self._dedupe_ttl_s, e.call_id, e.event, e.tenant, e.subject, self._keep_ms],
            )
            for e, value in zip(events, sealed, strict=True)
        ]
        return [bool(r) for r in await run_script_many(self._redis, self._enqueue, calls)]

    @staticmethod
    def cursor_at(unix_s: float) -> str:
        """A read position: the first entry written at or after `unix_s`."""
        return f"{int(unix_s * 1000)}-0"

    async def read_after(self, cursor: str, *, block_ms: int, count: int = 64) -> list[CallEntry]:
        """The entries after `cursor`, waiting up to `block_ms` for one; each opened, or with the reason it
        cannot be (the caller was erased, a format this process does not know). Raises `RedisError`."""
        batches: Any = await self._redis.xread({self.STREAM: cursor}, count=count, block=block_ms)
        rows: list[tuple[bytes, dict[bytes, bytes]]] = [row for _, part in batches or () for row in part]
        return [await self._entry(_s(entry_id), fields) for entry_id, fields in rows]

    async def _entry(self, entry_id: str, fields: Mapping[bytes, bytes]) -> CallEntry:
        call_id = _s(fields.get(b"call_id", b""))
        try:
            return CallEntry(entry_id, call_id, await self.read(fields))
        except SealError:  # the caller was erased meanwhile: nothing of them is left to act on
            return CallEntry(entry_id, call_id, None, "erased")
        except QueueFormatError as exc:
            return CallEntry(entry_id, call_id, None, exc.reason)

    async def read(self, fields: Mapping[bytes, bytes]) -> QueuedCall:
        """An entry's event, opened (raises `SealError` once the caller was erased, `QueueFormatError` for
        an event this process cannot read)."""
        if b"sealed" not in fields:  # written before events were sealed (a rolling upgrade)
            return QueuedCall.from_fields(json.loads(fields[b"event"]))
        return QueuedCall.from_fields(
            json.loads(await self._sealer.open(_s(fields[b"subject"]), fields[b"sealed"]))
        )
