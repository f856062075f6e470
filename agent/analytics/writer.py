"""Writes a T0 record and its analytics rollup in one Lua script, in the tenant's slot: both or neither.

A record with a hashed message id is written once per (event, message) within `DEDUPE_S`: an attempt that
runs again after a crash or a lease expiry (the worker redelivers it) adds no second T0 line and counts
nothing twice. Redeliveries end within the 24-hour service window (the handler dead-letters a turn past it
without a record), so two days of markers suffice; they hold only the hashed id T0 already holds.

People are counted per day and channel in a HyperLogLog of `sha1(salt ‖ subject key)`: a register sketch,
not a list, so no key and no value holds a person's id. The salt is the tenant's, the same on every day, so
a range counts a person once (the reader's PFCOUNT over the range's sketches is their union). With the salt,
anyone holding Redis and a subject key could test whether that person was counted on a day: no more than the
T0 records tell, which hold the subject key for as long (the processing period). So the salt lives exactly
as long as the newest sketch it filled, and erasure deletes it (`forget`): from then on no one can tie
anybody to any sketch. (A person seen both before and after an erasure counts twice in a range spanning it:
an erasure is rare, and the HyperLogLog's own error is 0.81 %.) Rollups expire with the tenant's processing
period, counted from the end of their day, as the day's last T0 records do.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from agent.analytics.fields import contribution
from agent.storage import keys

if TYPE_CHECKING:
    from datetime import tzinfo

    from agent.analytics.fields import T0Record
    from agent.storage.redis_client import RedisClient

DAY_S = 86_400
DEDUPE_S = 2 * DAY_S

_APPEND = """
-- KEYS: t0, seen marker, day hash, salt, people on the channel, people on any channel
-- ARGV: row, now, cutoff, dedupe (1/0), dedupe ttl, day expires at, fresh salt, subject ('' none),
--       then field, increment, ...
if ARGV[4] == '1' and not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[5]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if #ARGV >= 9 then
  for i = 9, #ARGV, 2 do redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1]) end
  redis.call('EXPIREAT', KEYS[3], ARGV[6])
  if ARGV[8] ~= '' then
    -- the salt goes with the newest sketch it filled (GT: only ever later)
    redis.call('SET', KEYS[4], ARGV[7], 'NX', 'EXAT', ARGV[6])
    redis.call('EXPIREAT', KEYS[4], ARGV[6], 'GT')
    local person = redis.sha1hex(redis.call('GET', KEYS[4]) .. ARGV[8])
    for k = 5, 6 do
      redis.call('PFADD', KEYS[k], person)
      redis.call('EXPIREAT', KEYS[k], ARGV[6])
    end
  end
end
return 1
"""


def local_day(at: float, zone: tzinfo) -> date:
    return datetime.fromtimestamp(at, zone).date()


def day_end(day: date, zone: tzinfo) -> float:
    """The first instant after `day` in `zone`, as a Unix time."""
    return datetime.combine(day + timedelta(days=1), time(), zone).timestamp()


class RollupWriter:
    """The T0 log's writer (agent/privacy/records.py hands it every record)."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._append = redis.register_script(_APPEND)

    async def append(
        self,
        tenant: str,
        record: T0Record,
        row: dict[str, Any],
        *,
        now: float,
        keep_days: int,
        zone: tzinfo = UTC,
    ) -> bool:
        """Writes `row` (the T0 line of `record`) and its rollup; False when it was written before."""
        day = local_day(now, zone)
        adds = contribution(record)
        channel = adds.channel if adds else "text"
        subject = (record.subject or "") if adds else ""
        dedupe = record.message is not None
        marker = keys.analytics_seen(tenant, record.event, record.message or "-")
        args: list[Any] = [
            json.dumps(row, separators=(",", ":")),
            now,
            now - keep_days * DAY_S,
            int(dedupe),
            min(DEDUPE_S, keep_days * DAY_S),
            int(day_end(day, zone)) + keep_days * DAY_S,
            secrets.token_hex(16),
            subject,
        ]
        for name, increment in (adds.fields() if adds else {}).items():
            args += [name, increment]
        written = await self._append(
            keys=[
                keys.t0_log(tenant),
                marker,
                keys.analytics_day(tenant, day),
                keys.analytics_salt(tenant),
                keys.analytics_people(tenant, day, channel),
                keys.analytics_people(tenant, day, "all"),
            ],
            args=args,
        )
        return bool(written)

    async def forget(self, tenant: str) -> int:
        """Erasure: deletes the tenant's salt; the next record starts a new one."""
        return int(await self._redis.delete(keys.analytics_salt(tenant)))
