"""The key layout (agent/storage/keys.py): formats stay byte-identical (a deployed Redis keeps working), the
table in its docstring says what the code does, and erasure's decision per key follows the table."""

from __future__ import annotations

import re
from datetime import date

import pytest

from agent.storage import keys
from agent.storage.keys import Fate, ShardKeys, conversation_key, subject_fate, tenant_key

_ROW = re.compile(r"^\| `([^`]+)` \| (\w+) \| [^|]+ \| [^|]+ \| [^|]+ \| ([^|]+) \| ([^|]+) \|$", re.M)
_TABLE = {key: (on_erasure.strip(), on_deletion.strip()) for key, _, on_erasure, on_deletion in _ROW.findall(
    keys.__doc__ or ""
)}  # fmt: skip
_FATE_WORDS = {Fate.DELETE: "deleted", Fate.KEEP: "kept, expires", Fate.LEDGER: "by the ledger"}


def test_formats_are_the_deployed_ones() -> None:
    """Pinned strings: a change here re-homes or orphans every key of a running deployment."""
    assert conversation_key("default:abc", "state", 8) == "lc:{6}:c:default:abc:state"
    assert conversation_key("default:abc", "state", 4) == "lc:{2}:c:default:abc:state"
    assert keys.epoch_key("sunrise-clinic:x1", 8) == "lc:{1}:c:sunrise-clinic:x1:epoch"
    shard = ShardKeys(3)
    assert (shard.ready, shard.leases, shard.dead) == ("lc:{3}:ready", "lc:{3}:leases", "lc:{3}:dead")
    assert (shard.conv_prefix, shard.seen("wamid.1")) == ("lc:{3}:c:", "lc:{3}:seen:wamid.1")
    assert tenant_key("acme", "ledger") == "lc:tenant:{acme}:ledger"
    assert keys.booked_slots("acme") == "lc:booked:{acme}"
    assert keys.CALL_EVENTS == "lc:{calls}:events"
    assert keys.call_seen("c1", "connect") == "lc:{calls}:seen:c1:connect"
    assert keys.call_owner("c1") == "lc:{calls}:owner:c1"
    assert keys.delivery_status("wamid.2") == "lc:status:{wamid.2}"
    assert keys.admin_failures("r") == "lc:admin_fail:{r}"
    assert keys.DEFAULT_SHARDS == 8
    day = date(2026, 3, 1)
    assert keys.t0_log("acme") == "lc:tenant:{acme}:t0"
    assert keys.analytics_day("acme", day) == "lc:tenant:{acme}:an:day:2026-03-01"
    assert keys.analytics_people("acme", day, "voice") == "lc:tenant:{acme}:an:people:2026-03-01:voice"
    assert keys.analytics_salt("acme") == "lc:tenant:{acme}:an:salt"
    assert keys.analytics_seen("acme", "turn", "ab12") == "lc:tenant:{acme}:an:seen:turn:ab12"


def test_the_docstring_table_names_every_key_and_what_erasure_does_with_it() -> None:
    subject_rows = {
        k.removeprefix("lc:{n}:c:<subject>:"): v for k, v in _TABLE.items() if ":c:<subject>:" in k
    }
    named = {re.sub(r"<[^>]+>$", "", suffix): fate for suffix, fate in subject_rows.items()}
    assert set(named) == set(keys.SUBJECT_KEYS)
    for suffix, fate in keys.SUBJECT_KEYS.items():
        assert named[suffix][0] == _FATE_WORDS[fate], suffix
        assert named[suffix][1] == "deleted", suffix  # tenant deletion takes every person's key
    tenant_rows = {  # a parameter (`an:day:<date>`) is named by its prefix, as in `TENANT_KEYS`
        re.sub(r"<.*$", "", k.removeprefix("lc:tenant:{T}:")): v
        for k, v in _TABLE.items()
        if k.startswith("lc:tenant:")
    }
    assert set(tenant_rows) == set(keys.TENANT_KEYS)
    kept = {suffix for suffix, (_, on_deletion) in tenant_rows.items() if on_deletion.startswith("kept")}
    assert kept == set(keys.KEPT_AFTER_DELETION)


@pytest.mark.parametrize(
    ("suffix", "fate"),
    [
        ("state", Fate.DELETE),
        ("dek", Fate.DELETE),
        ("epoch", Fate.KEEP),
        ("fence", Fate.KEEP),
        ("consent", Fate.LEDGER),
        ("consent:outbox", Fate.DELETE),
        ("consent:outbox:lock", Fate.DELETE),
        ("signal:0123abcd", Fate.DELETE),
        ("lead:t1:2", Fate.DELETE),
        ("something:new", Fate.DELETE),  # a key the table does not know yet: erasure wins
        ("epoch:copy", Fate.DELETE),  # only the counter itself is kept, nothing beside it
    ],
)
def test_erasure_decides_by_the_table(suffix: str, fate: Fate) -> None:
    assert subject_fate(suffix) is fate


def test_tenant_patterns_stay_inside_the_tenant() -> None:
    """A tenant id is matched literally: `a*` does not reach tenant `ab`'s keys."""
    assert keys.tenant_patterns("a*") == ("lc:tenant:{a\\*}:*", "lc:{*}:c:a\\*:*", "lc:booked:{a\\*}")
