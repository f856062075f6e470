"""The rollup writer and reader on a real redis-server and on the 3-primary Redis Cluster: day boundaries in
the tenant's timezone, calls, distinct people across days, idempotent records, erasure and retention; the
histogram's percentiles against exact ones (property test); the router's answers to bad input and its
tenant dependency."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI, Request
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.analytics.api import analytics_router
from agent.analytics.histogram import STEPS_PER_DOUBLING, bucket, percentiles, upper_bound
from agent.analytics.reader import COUNTERS, MAX_DAYS, AnalyticsReader, RangeError
from agent.analytics.writer import DAY_S, day_end
from agent.privacy.records import ProcessingLog, ProcessingRecord
from agent.storage import keys
from tests.conftest import ON_SERVER_AND_CLUSTER

if TYPE_CHECKING:
    from agent.storage.redis_client import RedisClient

pytestmark = ON_SERVER_AND_CLUSTER

IST = ZoneInfo("Asia/Kolkata")
T = "acme"
# 2026-12-07 23:50 and 2026-12-08 00:10 in India (18:20 and 18:40 UTC, the same UTC day).
LATE = datetime(2026, 12, 7, 23, 50, tzinfo=IST).timestamp()
EARLY = datetime(2026, 12, 8, 0, 10, tzinfo=IST).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def turn(subject: str, message: str, *, audio: int = 0, **extra: object) -> ProcessingRecord:
    fields: dict[str, object] = {
        "event": "turn",
        "subject": subject,
        "outcome": "replied",
        "message": message,
        "sizes": {"messages": 1, "audio": audio} | ({"audio_ms": 4200} if audio else {}),
        "timings_ms": {"reply": 900.0, "llm": 300.0},
        "tokens": {"prompt": 100, "completion": 20},
    }
    return ProcessingRecord(**(fields | extra))  # type: ignore[arg-type]


async def test_days_begin_in_the_tenants_timezone_and_people_are_counted_per_day(
    redis: RedisClient,
) -> None:
    clock = Clock(LATE)
    log = ProcessingLog(redis, clock=clock)
    await log.append(T, turn("acme:p1", "m1"), keep_days=30, zone=IST)
    await log.append(T, turn("acme:p2", "m2", audio=1), keep_days=30, zone=IST)
    clock.now = EARLY
    await log.append(T, turn("acme:p1", "m3"), keep_days=30, zone=IST)
    await log.append(T, turn("acme:p1", "m4", counts={"keywords": 1, "opt_out": 1}), keep_days=30, zone=IST)

    report = await AnalyticsReader(redis).report(T, date(2026, 12, 7), date(2026, 12, 8))
    first, second = report.days
    assert (first.channel("text")["turns"], second.channel("text")["turns"]) == (1, 2)
    assert (first.channel("all").conversations, second.channel("all").conversations) == (2, 1)
    assert report.channel("all").conversations == 2  # p1 on both days is one person in the range
    assert report.channel("text").conversations == 1
    assert report.channel("voice").conversations == 1
    assert report.channel("text")["confirmed"] == 1
    assert report.channel("text")["opt_outs"] == 1
    assert report.channel("voice").voice_note.p50_ms == upper_bound(bucket(4200))
    assert report.channel("all")["tokens_prompt"] == 400
    # The same records in UTC days: all four on 2026-12-07.
    await redis.flushdb()
    for i, r in enumerate([turn("acme:p1", "m1"), turn("acme:p1", "m3")]):
        clock.now = (LATE, EARLY)[i]
        await log.append(T, r, keep_days=30)
    utc = await AnalyticsReader(redis).report(T, date(2026, 12, 7), date(2026, 12, 7))
    assert utc.channel("text")["turns"] == 2


async def test_a_person_on_three_days_counts_once_in_the_range_and_once_on_each_day(
    redis: RedisClient,
) -> None:
    clock = Clock(LATE)
    log = ProcessingLog(redis, clock=clock)
    for i in range(3):
        clock.now = LATE + i * DAY_S
        await log.append(T, turn("acme:p1", f"m{i}"), keep_days=30, zone=IST)
    await log.append(T, turn("acme:p2", "m9", audio=1), keep_days=30, zone=IST)  # another, on the third day
    report = await AnalyticsReader(redis).report(T, date(2026, 12, 6), date(2026, 12, 10))
    assert [d.channel("all").conversations for d in report.days] == [0, 1, 1, 2, 0]
    assert [d.channel("text").conversations for d in report.days] == [0, 1, 1, 1, 0]
    assert (report.channel("all").conversations, report.channel("text").conversations) == (2, 1)
    assert report.channel("voice").conversations == 1
    assert report.channel("all")["turns"] == 4  # the counters still add up the days
    one_day = await AnalyticsReader(redis).report(T, date(2026, 12, 8), date(2026, 12, 8))
    assert one_day.channel("all").conversations == 1


async def test_a_record_written_again_counts_once_in_t0_and_in_the_rollup(redis: RedisClient) -> None:
    log = ProcessingLog(redis, clock=Clock(LATE))
    record = turn("acme:p1", "hashed-1")
    assert await log.append(T, record, keep_days=30, zone=IST) is True
    assert await log.append(T, record, keep_days=30, zone=IST) is False  # a redelivered attempt
    keyword = ProcessingRecord(event="keyword", subject="acme:p1", outcome="opt_out", message="hashed-1")
    assert await log.append(T, keyword, keep_days=30, zone=IST) is True  # another event of the message
    erased = ProcessingRecord(event="turn", subject=None, outcome="erased", sizes={"messages": 1})
    for _ in range(2):  # no message id: nothing to tell two apart, both count
        assert await log.append(T, erased, keep_days=30, zone=IST) is True
    assert len(await log.records(T)) == 4
    report = await AnalyticsReader(redis).report(T, date(2026, 12, 7), date(2026, 12, 7))
    assert report.channel("text")["turns"] == 3
    assert report.channel("text")["answered"] == 1
    assert report.channel("text")["withheld"] == 2


async def test_calls_count_on_their_own_channel(redis: RedisClient) -> None:
    log = ProcessingLog(redis, clock=Clock(LATE))
    for i, (outcome, seconds) in enumerate([("completed", 95.0), ("completed", 30.0), ("no_answer", 2.0)]):
        record = ProcessingRecord(
            event="call",
            subject=f"acme:c{i}",
            outcome=outcome,
            message=f"call-{i}",
            timings_ms={"duration": seconds * 1000, "first_audio_mean": 700.0},
            counts={"user_turns": 3, "agent_turns": 4} | ({"opt_out": 1, "human": 1} if i == 0 else {}),
        )
        await log.append(T, record, keep_days=30, zone=IST)
    call = (await AnalyticsReader(redis).report(T, date(2026, 12, 7), date(2026, 12, 7))).channel("call")
    assert call["calls"] == 3
    assert call["turns"] == 9
    assert (call["opt_outs"], call["handoffs"]) == (1, 1)  # keywords said in a call
    assert dict(call.call_outcomes) == {"completed": 2, "no_answer": 1}
    assert call.call_duration.count == 3
    assert call.call_duration.p50_ms == upper_bound(bucket(30_000))
    assert call.call_duration.p95_ms == upper_bound(bucket(95_000))
    assert call.reply.p50_ms == upper_bound(bucket(700))
    assert call.conversations == 3


async def test_erasure_leaves_no_way_to_tie_the_person_to_the_counts(redis: RedisClient) -> None:
    clock = Clock(LATE)
    log = ProcessingLog(redis, clock=clock)
    await log.append(T, turn("acme:p1", "m1"), keep_days=30, zone=IST)
    day = date(2026, 12, 7)
    salt = await redis.get(keys.analytics_salt(T))
    assert salt is not None
    lives = await redis.expiretime(keys.analytics_salt(T))  # as long as the sketch it filled, not longer
    assert (
        lives
        == await redis.expiretime(keys.analytics_people(T, day, "all"))
        == int(day_end(day, IST)) + 30 * DAY_S
    )
    stored = [k async for k in redis.scan_iter(match="lc:tenant:*:an:*")]
    assert not any(b"p1" in k for k in stored)
    for key in stored:
        if await redis.type(key) == b"hash":
            assert not any(b"p1" in f or b"p1" in v for f, v in (await redis.hgetall(key)).items())

    assert await log.forget(T, "acme:p1") == 1
    assert await redis.get(keys.analytics_salt(T)) is None  # the salt that tied p1 to the sketch is gone
    assert await log.records(T) == []
    # The counts stay (they hold nobody); a new salt starts for the rest of the day.
    await log.append(T, turn("acme:p2", "m2"), keep_days=30, zone=IST)
    assert await redis.get(keys.analytics_salt(T)) not in (None, salt)
    report = await AnalyticsReader(redis).report(T, day, day)
    assert report.channel("text")["turns"] == 2
    assert report.channel("text").conversations == 2


async def test_rollups_expire_with_the_tenants_processing_period(redis: RedisClient) -> None:
    log = ProcessingLog(redis)  # the real clock: Redis checks expiry times against its own
    now = datetime.now(UTC).timestamp()
    await log.append(T, turn("acme:p1", "m1"), keep_days=30, zone=IST)
    today = datetime.fromtimestamp(now, IST).date()
    expected = int(day_end(today, IST)) + 30 * DAY_S
    for key in (
        keys.analytics_day(T, today),
        keys.analytics_people(T, today, "text"),
        keys.analytics_people(T, today, "all"),
    ):
        assert await redis.expiretime(key) == expected
    assert 0 < await redis.ttl(keys.analytics_seen(T, "turn", "m1")) <= 2 * DAY_S


async def test_a_range_is_bounded_and_ordered(redis: RedisClient) -> None:
    reader = AnalyticsReader(redis)
    with pytest.raises(RangeError):
        await reader.report(T, date(2026, 12, 8), date(2026, 12, 7))
    with pytest.raises(RangeError):
        await reader.report(T, date(2025, 1, 1), date(2026, 12, 7))
    empty = await reader.report(T, date(2026, 1, 1), date(2026, 1, 1) + (date(2026, 1, 2) - date(2026, 1, 1)))
    assert empty.channel("all")["turns"] == 0
    assert empty.channel("all").reply.p50_ms is None


@settings(deadline=None, max_examples=200)
@given(st.lists(st.floats(min_value=0, max_value=3_600_000, allow_nan=False), min_size=1, max_size=200))
def test_percentiles_overstate_the_exact_ones_by_at_most_one_bucket(values: list[float]) -> None:
    counts: dict[int, int] = {}
    for v in values:
        counts[bucket(v)] = counts.get(bucket(v), 0) + 1
    got = percentiles(counts)
    ordered = sorted(values)
    for q, reported in ((0.5, got.p50_ms), (0.95, got.p95_ms)):
        exact = ordered[max(1, math.ceil(q * len(values))) - 1]
        assert reported == upper_bound(bucket(exact))
        assert reported is not None
        assert reported >= round(exact, 1) - 0.05
        assert reported <= max(1.0, exact * 2 ** (1 / STEPS_PER_DOUBLING)) + 0.05


def test_odd_values_fall_in_the_first_or_last_bucket() -> None:
    assert bucket(float("nan")) == bucket(-5) == bucket(0) == 0
    assert bucket(1e12) == bucket(float("inf")) == 22 * STEPS_PER_DOUBLING


async def test_the_router_reads_only_the_dependencys_tenant_and_refuses_bad_input(redis: RedisClient) -> None:
    log = ProcessingLog(redis, clock=Clock(LATE))
    await log.append("other", turn("other:x", "m1"), keep_days=30, zone=IST)
    await log.append(T, turn("acme:p1", "m1"), keep_days=30, zone=IST)

    def signed_in(request: Request) -> str:  # the console supplies the real one (its session)
        return request.headers["x-test-tenant"]

    app = FastAPI()
    app.include_router(analytics_router(AnalyticsReader(redis), tenant=signed_in, zone_of=lambda _: IST))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c") as http:
        day = {"from": "2026-12-07", "to": "2026-12-07"}
        mine = await http.get("/api/analytics", params=day, headers={"x-test-tenant": T})
        assert mine.json()["total"]["text"]["turns"] == 1
        assert mine.json()["tenant"] == T
        nobody = await http.get("/api/analytics", params=day, headers={"x-test-tenant": "third"})
        assert nobody.json()["total"]["all"]["turns"] == 0
        for bad in ({"from": "2026-12-07'<script>"}, {"to": "07/12/2026"}, {"from": "2026-02-30"}):
            answer = await http.get("/api/analytics", params=bad, headers={"x-test-tenant": T})
            assert answer.status_code == 400
            assert answer.json() == {"detail": "dates are YYYY-MM-DD"}
        long = await http.get(
            "/api/analytics.csv",
            params={"from": "2020-01-01", "to": "2026-12-07"},
            headers={"x-test-tenant": T},
        )
        assert long.status_code == 400
        assert long.json() == {"detail": f"at most {MAX_DAYS} days at once"}
        default = await http.get("/analytics", headers={"x-test-tenant": T})
        assert default.status_code == 200
        assert "<svg" in default.text
        assert mine.json()["from"] == "2026-12-07"
        assert mine.json()["to"] == "2026-12-07"
        documented = (await http.get("/openapi.json")).json()
    answer = documented["paths"]["/api/analytics"]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"]["$ref"].endswith("/AnalyticsReport")
    numbers = set(documented["components"]["schemas"]["ChannelNumbers"]["properties"])
    timings = {"reply_ms", "voice_note_ms", "call_duration_ms", "stages_ms", "call_outcomes"}
    assert numbers == {"conversations", *COUNTERS, *timings}  # the schema names every counter the reader has
