"""Every Redis key of the analytics rollups, in one place (until agent/storage/keys.py gathers all formats).

All of them carry the tenant's hash tag, the same as its T0 log (`lc:tenant:{T}:t0`), so a record and its
rollup are written by one script in one slot, also on Redis Cluster; tenant deletion's `lc:tenant:{T}:*`
reaches them. No key names a person.

| key | type | holds | on erasure | expires |
| --- | --- | --- | --- | --- |
| `lc:tenant:{T}:an:day:<date>` | hash | counters, histogram buckets | kept (no person) | its day + processing period |
| `lc:tenant:{T}:an:people:<date>:<channel>` | HyperLogLog | salted hashes of subjects | kept; salt deleted | same |
| `lc:tenant:{T}:an:salt:<date>` | string | the day's random salt | deleted | 2 days |
| `lc:tenant:{T}:an:seen:<event>:<hashed id>` | string | a record was written | kept (no person) | 2 days |
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date


def tenant_key(tenant: str, suffix: str) -> str:
    """The tenant's own keys' format (agent/privacy/ledger.py has the same: the T0 log must share the slot)."""
    return f"lc:tenant:{{{tenant}}}:{suffix}"


def t0_key(tenant: str) -> str:
    """The tenant's T0 log (agent/privacy/records.py)."""
    return tenant_key(tenant, "t0")


def day_key(tenant: str, day: date) -> str:
    """A hash of counters and histogram buckets for one tenant-local day (fields: `fields.py`)."""
    return tenant_key(tenant, f"an:day:{day.isoformat()}")


def people_key(tenant: str, day: date, channel: str) -> str:
    """A HyperLogLog of the day's people on `channel` ("all": any channel), added as salted hashes."""
    return tenant_key(tenant, f"an:people:{day.isoformat()}:{channel}")


def salt_key(tenant: str, day: date) -> str:
    """The day's random salt for the people counts (short-lived; erasure deletes it)."""
    return tenant_key(tenant, f"an:salt:{day.isoformat()}")


def seen_key(tenant: str, event: str, message: str) -> str:
    """Marks a T0 record of `event` for a hashed message id as written (a redelivered turn writes nothing)."""
    return tenant_key(tenant, f"an:seen:{event}:{message}")
