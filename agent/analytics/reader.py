"""Reads a tenant's rollups for a date range: a fixed number of Redis reads per day in the range, however
many records the days hold (the benchmark, bench/analytics.py, shows it)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from agent.analytics.fields import CHANNELS, TURN_CLASSES, TURN_COUNTS
from agent.analytics.histogram import Percentiles, percentiles
from agent.storage import keys

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date

    from agent.storage.redis_client import RedisClient

MAX_DAYS = 366  # one request reads at most this many days

ALL = "all"  # every channel together
COUNTERS = (
    "turns", "messages", *TURN_CLASSES, "handoffs", "leads", "bookings", *TURN_COUNTS.values(),
    "tokens_prompt", "tokens_completion", "calls",
)  # fmt: skip
TIMINGS = ("reply", "voice_note", "call_duration")  # the other histograms are stages: "stage:<name>"


# One script (all keys in the tenant's slot), so a cluster reads a range in one round trip too. A day's hash
# comes back as one JSON string (field, value, field, ...): a client parses one string much faster than
# hundreds of RESP elements (redis-py's parser is Python).
_READ = """
-- KEYS: per day, its hash then its people sketches, one per channel   ARGV: channels
-- Returns per day its hash and its people per channel, then per channel the range's people: the union of
-- its days' sketches (PFCOUNT of several keys), so a person on three days counts once.
local n = tonumber(ARGV[1])
local out = {}
local ranges = {}
for c = 1, n do ranges[c] = {} end
for i = 1, #KEYS, n + 1 do
  local flat = redis.call('HGETALL', KEYS[i])
  out[#out + 1] = #flat == 0 and '[]' or cjson.encode(flat)
  for c = 1, n do
    out[#out + 1] = redis.call('PFCOUNT', KEYS[i + c])
    table.insert(ranges[c], KEYS[i + c])
  end
end
for c = 1, n do out[#out + 1] = redis.call('PFCOUNT', unpack(ranges[c])) end
return out
"""


class RangeError(ValueError):
    """A date range that cannot be read (reversed, or longer than `MAX_DAYS`)."""


@dataclass(frozen=True, slots=True)
class ChannelStats:
    """One channel (or `all`) over one day or the whole range. Times are in ms (see histogram.py)."""

    channel: str
    conversations: int  # people who wrote that day (HyperLogLog); over a range, each person once
    counts: Mapping[str, int]  # every name of `COUNTERS`, zeros included
    reply: Percentiles  # message accepted → reply sent; calls: mean time to first audio per call
    voice_note: Percentiles  # length of the voice notes of a turn
    call_duration: Percentiles
    stages: Mapping[str, Percentiles]  # per stage of a turn: "stt", "llm", "tts", ...
    call_outcomes: Mapping[str, int]

    def __getitem__(self, name: str) -> int:
        return self.counts[name]


@dataclass(frozen=True, slots=True)
class DayStats:
    day: date
    channels: tuple[ChannelStats, ...]  # text, voice, call, all

    def channel(self, name: str) -> ChannelStats:
        return next(c for c in self.channels if c.channel == name)


@dataclass(frozen=True, slots=True)
class Report:
    tenant: str
    start: date
    end: date  # inclusive
    days: tuple[DayStats, ...]
    total: tuple[ChannelStats, ...]  # the range (a person on three days is one conversation)

    def channel(self, name: str) -> ChannelStats:
        return next(c for c in self.total if c.channel == name)


class _Tally:
    """Counters and histograms of one channel, merged across days and channels."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.histograms: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, other: _Tally) -> None:
        for name, n in other.counts.items():
            self.counts[name] += n
        for metric, buckets in other.histograms.items():
            for index, n in buckets.items():
                self.histograms[metric][index] += n

    def stats(self, channel: str, conversations: int) -> ChannelStats:
        counts = {name: self.counts.get(name, 0) for name in COUNTERS}
        outcomes = {n.split(":", 1)[1]: v for n, v in sorted(self.counts.items()) if n.startswith("outcome:")}
        stages = {
            metric.split(":", 1)[1]: percentiles(buckets)
            for metric, buckets in sorted(self.histograms.items())
            if metric.startswith("stage:")
        }
        timing = {name: percentiles(self.histograms.get(name, {})) for name in TIMINGS}
        return ChannelStats(
            channel, conversations, counts, timing["reply"], timing["voice_note"], timing["call_duration"],
            stages, outcomes,
        )  # fmt: skip


def _parse(raw: Mapping[str, str]) -> dict[str, _Tally]:
    tallies: dict[str, _Tally] = {channel: _Tally() for channel in CHANNELS}
    for name, value in raw.items():
        channel, kind, rest = name.split("|", 2)
        tally = tallies.get(channel)
        if tally is None:
            continue
        if kind == "c":
            tally.counts[rest] += int(value)
        elif kind == "h":
            metric, _, index = rest.rpartition("|")
            tally.histograms[metric][int(index)] += int(value)
    return tallies


class AnalyticsReader:
    def __init__(self, redis: RedisClient) -> None:
        self._read = redis.register_script(_READ)

    async def report(self, tenant: str, start: date, end: date) -> Report:
        """Per day and per channel, and the range's totals. Raises `RangeError`."""
        if end < start:
            raise RangeError("the range ends before it starts")
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        if len(days) > MAX_DAYS:
            raise RangeError(f"at most {MAX_DAYS} days at once")
        channels = (*CHANNELS, ALL)
        names = [
            key
            for day in days
            for key in (
                keys.analytics_day(tenant, day),
                *(keys.analytics_people(tenant, day, c) for c in channels),
            )
        ]
        replies = await self._read(keys=names, args=[len(channels)])
        per_day, totals = [], {channel: _Tally() for channel in channels}
        step = 1 + len(channels)
        conversations = dict(zip(channels, (int(n) for n in replies[len(days) * step :]), strict=True))
        for i, day in enumerate(days):
            flat, people = replies[i * step], replies[i * step + 1 : (i + 1) * step]
            pairs = json.loads(flat)
            raw = dict(zip(pairs[::2], pairs[1::2], strict=True))
            tallies = _parse(raw)
            tallies[ALL] = _Tally()
            for channel in CHANNELS:
                tallies[ALL].add(tallies[channel])
            for name in channels:
                totals[name].add(tallies[name])
            per_day.append(
                DayStats(
                    day, tuple(tallies[c].stats(c, int(n)) for c, n in zip(channels, people, strict=True))
                )
            )
        total = tuple(totals[c].stats(c, conversations[c]) for c in channels)
        return Report(tenant, start, end, tuple(per_day), total)
