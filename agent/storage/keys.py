"""Every Redis key of the project: its format, and what erasure and tenant deletion do with it.

Keys of one Lua script or transaction share a hash tag (the part in `{…}`), so each script touches one slot
and the same code runs on Redis Cluster. A person's keys live beside their conversation's queue keys
(`{n}` = `shard_of(subject)`), a tenant's own keys under `{T}`. A subject is `Keyring.conversation_ref`
(`<tenant>:<hmac>`). The formats are fixed for a deployment: a running Redis keeps working only while every
key here stays byte-identical (`DEFAULT_SHARDS` too: changing it re-homes conversations).

| key | type | slot | holds | sealed | on erasure | on tenant deletion |
| --- | --- | --- | --- | --- | --- | --- |
| `lc:{n}:ready` | zset | `{n}` | conversations that may run, scored by when | no | kept (refs only) | kept |
| `lc:{n}:leases` | zset | `{n}` | leased conversations, scored by expiry | no | kept (refs only) | kept |
| `lc:{n}:dead` | stream | `{n}` | dead letters: ids, kinds, counts, reason | no | entries dropped | entries dropped |
| `lc:{n}:seen:<message id>` | string | `{n}` | ingress dedupe marker (TTL) | no | expires | expires |
| `lc:{n}:c:<subject>:inbox` | stream | `{n}` | pending messages | payload | deleted | deleted |
| `lc:{n}:c:<subject>:lease` | hash | `{n}` | the lease's fence and worker | no | deleted | deleted |
| `lc:{n}:c:<subject>:attempts` | string | `{n}` | deliveries of the batch | no | deleted | deleted |
| `lc:{n}:c:<subject>:fence` | string | `{n}` | lease fencing counter (1 day) | no | kept, expires | deleted |
| `lc:{n}:c:<subject>:epoch` | string | `{n}` | erasure epoch (1 day) | no | kept, expires | deleted |
| `lc:{n}:c:<subject>:memo` | hash | `{n}` | a turn's step results for retries | yes | deleted | deleted |
| `lc:{n}:c:<subject>:replied` | hash | `{n}` | reply ledger: message id → state | no | deleted | deleted |
| `lc:{n}:c:<subject>:dek` | string | `{n}` | the data key, wrapped (also on the key store) | wrap | deleted | deleted |
| `lc:{n}:c:<subject>:state` | string | `{n}` | vault + minimized history | yes | deleted | deleted |
| `lc:{n}:c:<subject>:consent` | hash | `{n}` | consent states, overlays | no | by the ledger | deleted |
| `lc:{n}:c:<subject>:consent:outbox` | list | `{n}` | evidence not yet in the ledger | no | deleted | deleted |
| `lc:{n}:c:<subject>:consent:outbox:lock` | string | `{n}` | the outbox flusher's lock | no | deleted | deleted |
| `lc:{n}:c:<subject>:signal:<h>` | string | `{n}` | a consent signal seen | no | deleted | deleted |
| `lc:{n}:c:<subject>:t2` | zset | `{n}` | T2 content log | yes | deleted | deleted |
| `lc:{n}:c:<subject>:leads` | list | `{n}` | lead records | yes | deleted | deleted |
| `lc:{n}:c:<subject>:lead:<key>` | string | `{n}` | lead dedupe marker | no | deleted | deleted |
| `lc:{n}:c:<subject>:handoff` | string | `{n}` | human takeover flag (reason) | no | deleted | deleted |
| `lc:{n}:c:<subject>:profile` | string | `{n}` | rectified profile fields | yes | deleted | deleted |
| `lc:tenant:{T}:ledger` | stream | `{T}` | consent evidence, hash-chained | no | kept (proof) | deleted |
| `lc:tenant:{T}:ledger:head` | string | `{T}` | hash of the last ledger record | no | kept | deleted |
| `lc:tenant:{T}:audit` | stream | `{T}` | audit log, hash-chained (no content) | no | kept (proof) | deleted |
| `lc:tenant:{T}:audit:head` | string | `{T}` | hash of the last audit record | no | kept | deleted |
| `lc:tenant:{T}:suppressed` | set | `{T}` | subjects erased once | no | member added | deleted |
| `lc:tenant:{T}:erasures` | set | `{T}` | subjects whose erasure is pending | no | member removed | deleted |
| `lc:tenant:{T}:terminated` | string | `{T}` | when the account ended | no | kept | kept (tombstone) |
| `lc:tenant:{T}:t0` | zset | `{T}` | T0 processing records (counts) | no | members removed | deleted |
| `lc:tenant:{T}:t2index` | zset | `{T}` | subjects with T2 content | no | member removed | deleted |
| `lc:tenant:{T}:aliases` | hash | `{T}` | ref of a number or BSUID → subject | no | kept (refs only) | deleted |
| `lc:tenant:{T}:an:day:<date>` | hash | `{T}` | analytics counters, buckets | no | kept (no person) | deleted |
| `lc:tenant:{T}:an:people:<date>:<ch>` | HyperLogLog | `{T}` | salted subject hashes | no | kept | deleted |
| `lc:tenant:{T}:an:salt` | string | `{T}` | people counts' salt (lives as its sketches) | no | deleted | deleted |
| `lc:tenant:{T}:an:seen:<event>:<id>` | string | `{T}` | T0 record written (2 days) | no | kept | deleted |
| `lc:booked:{T}` | zset | `{T}` | the tenant's booked slots | no | kept (no person) | deleted |
| `lc:{calls}:events` | stream | `{calls}` | call signaling events | content | entries dropped | entries dropped |
| `lc:{calls}:seen:<call id>:<event>` | string | `{calls}` | call event dedupe marker (TTL) | no | expires | expires |
| `lc:{calls}:owner:<call id>` | string | `{calls}` | the worker that owns a call (TTL) | no | expires | expires |
| `lc:status:{<message id>}` | hash | own | an outbound message's delivery state (TTL) | no | expires | expires |
| `lc:admin_fail:{<ref>}` | string | own | failed admin logins in a window (TTL) | no | expires | expires |
| `lc:pg:{<session>}:<part>` | mixed | own | a console playground session (TTL) | yes | no person | expires |

Erasure (`SubjectRights.erase`) deletes what `subject_fate` says of each of the person's keys, on the data
server and the key store, and drops their entries from the shared streams (`subject_entries`); tenant
deletion (`Retention`) deletes every key `tenant_patterns` matches but the ones `KEPT_AFTER_DELETION` names,
and drops the tenant's entries (`tenant_entries`). The analytics rollups (`an:`, agent/analytics/writer.py)
share the T0 log's slot, so a record and its rollup are written by one script; the day hashes and sketches
expire with the tenant's processing period, counted from the end of their day.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date

DAY_S = 86_400
DEFAULT_SHARDS = 8  # fixed for a deployment: changing it re-homes conversations
# A subject's counters (lease fence, erasure epoch) outlive every turn that could have read them.
EPOCH_TTL_S = DAY_S

CALL_EVENTS = "lc:{calls}:events"


class Fate(StrEnum):
    """What erasure does with one of the person's keys."""

    DELETE = "delete"
    KEEP = "keep"  # counters without data that expire on their own (a turn in flight still needs them)
    LEDGER = "ledger"  # the consent hash: `ConsentStore.forget` removes it after the ledger's proof event


# The person's keys by suffix (after `lc:{n}:c:<subject>:`); one ending in `:` takes a parameter after it.
# A key not named here is deleted: erasure wins.
SUBJECT_KEYS: dict[str, Fate] = {
    "inbox": Fate.DELETE,
    "lease": Fate.DELETE,
    "attempts": Fate.DELETE,
    "fence": Fate.KEEP,
    "epoch": Fate.KEEP,
    "memo": Fate.DELETE,
    "replied": Fate.DELETE,
    "dek": Fate.DELETE,
    "state": Fate.DELETE,
    "consent": Fate.LEDGER,
    "consent:outbox": Fate.DELETE,
    "consent:outbox:lock": Fate.DELETE,
    "signal:": Fate.DELETE,
    "t2": Fate.DELETE,
    "leads": Fate.DELETE,
    "lead:": Fate.DELETE,
    "handoff": Fate.DELETE,
    "profile": Fate.DELETE,
}

# A tenant's own keys (after `lc:tenant:{T}:`).
TENANT_KEYS = (
    "ledger",
    "ledger:head",
    "audit",
    "audit:head",
    "suppressed",
    "erasures",
    "terminated",
    "t0",
    "t2index",
    "aliases",
    # analytics rollups; one ending in `:` takes parameters after it (agent/analytics/writer.py)
    "an:day:",
    "an:people:",
    "an:salt",
    "an:seen:",
)
KEPT_AFTER_DELETION = ("terminated",)  # the tombstone that keeps a deleted tenant frozen


def subject_fate(suffix: str) -> Fate:
    """What erasure does with the person's key ending in `suffix` (`signal:<h>` → the `signal:` entry)."""
    if suffix in SUBJECT_KEYS:
        return SUBJECT_KEYS[suffix]
    prefixes = [p for p in SUBJECT_KEYS if p.endswith(":") and suffix.startswith(p)]
    return SUBJECT_KEYS[max(prefixes, key=len)] if prefixes else Fate.DELETE


def shard_of(conv: str, shards: int) -> int:
    return zlib.crc32(conv.encode()) % shards


def tenant_of(subject: str) -> str:
    return subject.split(":", 1)[0]


@dataclass(frozen=True, slots=True)
class ShardKeys:
    """The keys of one queue shard (`lc:{n}:`): its indexes and its conversations' keys."""

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


def conversation_key(conv: str, suffix: str, shards: int) -> str:
    """A key of one conversation (= subject), in the same slot as its inbox."""
    return ShardKeys(shard_of(conv, shards)).conv(conv, suffix)


def epoch_key(subject: str, shards: int) -> str:
    return conversation_key(subject, "epoch", shards)


def tenant_key(tenant: str, suffix: str) -> str:
    return f"lc:tenant:{{{tenant}}}:{suffix}"


def t0_log(tenant: str) -> str:
    """The tenant's T0 processing log (agent/privacy/records.py)."""
    return tenant_key(tenant, "t0")


def analytics_day(tenant: str, day: date) -> str:
    """A hash of counters and histogram buckets for one tenant-local day (fields: agent/analytics/fields.py)."""
    return tenant_key(tenant, f"an:day:{day.isoformat()}")


def analytics_people(tenant: str, day: date, channel: str) -> str:
    """A HyperLogLog of the day's people on `channel` ("all": any channel), added as salted hashes."""
    return tenant_key(tenant, f"an:people:{day.isoformat()}:{channel}")


def analytics_salt(tenant: str) -> str:
    """The random salt of the people counts: it lives as long as the newest sketch it filled, and erasure
    deletes it (agent/analytics/writer.py)."""
    return tenant_key(tenant, "an:salt")


def analytics_seen(tenant: str, event: str, message: str) -> str:
    """Marks a T0 record of `event` for a hashed message id as written (a redelivered turn writes nothing)."""
    return tenant_key(tenant, f"an:seen:{event}:{message}")


def booked_slots(tenant: str) -> str:
    return f"lc:booked:{{{tenant}}}"


def call_seen(call_id: str, event: str) -> str:
    return f"lc:{{calls}}:seen:{call_id}:{event}"


def call_owner(call_id: str) -> str:
    return f"lc:{{calls}}:owner:{call_id}"


def delivery_status(message_id: str) -> str:
    return f"lc:status:{{{message_id}}}"


def admin_failures(ref: str) -> str:
    return f"lc:admin_fail:{{{ref}}}"


def playground_key(session: str, part: str) -> str:
    """A part of a playground session (agent/console/playground_store.py): a sandbox conversation of the
    staff console, subject `pg:<session>`, never a person's; every part expires with the session."""
    return f"lc:pg:{{{session}}}:{part}"


def glob_escape(text: str) -> str:
    """`text` as a literal inside a Redis SCAN MATCH pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def subject_pattern(subject: str, shards: int) -> str:
    """Every key of the person (SCAN MATCH)."""
    return glob_escape(conversation_key(subject, "", shards)) + "*"


def data_keys_pattern() -> str:
    """Every person's data key (SCAN MATCH), for the key rotation."""
    return "lc:{*}:c:*:dek"


def tenant_patterns(tenant: str) -> tuple[str, ...]:
    """Every key of the tenant (SCAN MATCH): its own keys, every person's keys, its bookings."""
    name = glob_escape(tenant)
    return (
        glob_escape(tenant_key(tenant, "")) + "*",
        f"lc:{{*}}:c:{name}:*",
        glob_escape(booked_slots(tenant)),
    )


@dataclass(frozen=True, slots=True)
class StreamEntries:
    """Entries of a stream shared by many people whose clear `field` is `value` (or, with `prefix`, starts
    with it): what erasure or tenant deletion drops from it."""

    stream: str
    field: bytes
    value: str
    prefix: bool = False

    def matches(self, found: str) -> bool:
        return found.startswith(self.value) if self.prefix else found == self.value


def subject_entries(subject: str, shards: int) -> tuple[StreamEntries, ...]:
    """The person's entries in shared streams: their dead letters and their call events."""
    dead = ShardKeys(shard_of(subject, shards)).dead
    return StreamEntries(dead, b"conv", subject), StreamEntries(CALL_EVENTS, b"subject", subject)


def tenant_entries(tenant: str, shards: int) -> tuple[StreamEntries, ...]:
    """The tenant's entries in shared streams: its call events and every shard's dead letters of its people."""
    dead = [StreamEntries(ShardKeys(n).dead, b"conv", f"{tenant}:", prefix=True) for n in range(shards)]
    return StreamEntries(CALL_EVENTS, b"tenant", tenant), *dead
