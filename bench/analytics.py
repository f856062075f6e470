"""Analytics page and API load time with 1,000 vs 100,000 T0 records (30 days each), in one run, on a real
redis-server: the rollups are read per day, so the time must stay flat as records grow. For contrast, the
time to compute the same counts by reading every T0 record (what a page without rollups would do), and
what the rollup adds to each T0 write (the old ZADD + trim pipeline vs the one script that now writes both).

    python -m bench.analytics [--sizes 1000 10000 100000] [--requests 30]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Header

from agent.analytics.api import analytics_router
from agent.analytics.reader import AnalyticsReader
from agent.privacy.records import ProcessingLog, ProcessingRecord
from agent.storage.keys import t0_log
from agent.storage.redis_client import redis_client
from tests.redis_server import RedisServer

DAYS = 30
DAY_S = 86_400
END = 1_796_000_000.0  # a fixed "now" (2026-12-2x): the same days for every run


def _record(rng: random.Random, i: int) -> ProcessingRecord:
    subject = f"t:{rng.randrange(2000):08x}"
    if i % 20 == 0:
        return ProcessingRecord(
            event="call", subject=subject, outcome=rng.choice(["completed", "caller_hung_up"]),
            message=f"call{i}", timings_ms={"duration": rng.uniform(5e3, 3e5), "first_audio_mean": 700.0},
            counts={"user_turns": 3, "agent_turns": 4},
        )  # fmt: skip
    audio = int(i % 3 == 0)
    sizes = {"messages": 1, "audio": audio} | ({"audio_ms": rng.randrange(1000, 60000)} if audio else {})
    return ProcessingRecord(
        event="turn", subject=subject, outcome=rng.choice(["replied"] * 8 + ["handed_off", "withdrawn"]),
        message=f"m{i}", sizes=sizes,
        timings_ms={"reply": rng.lognormvariate(7.5, 0.5), "llm": rng.lognormvariate(6.5, 0.5), "pii": 2.0},
        tokens={"prompt": rng.randrange(200, 900), "completion": rng.randrange(10, 120)},
        counts={"leads": int(i % 17 == 0)},
    )  # fmt: skip


async def _fill(log: ProcessingLog, clock: list[float], tenant: str, n: int) -> float:
    """`n` records spread over the 30 days; returns seconds per record written."""
    rng = random.Random(n)
    started = time.perf_counter()
    batch = 50
    for first in range(0, n, batch):
        records = [_record(rng, i) for i in range(first, min(n, first + batch))]
        clock[0] = END - DAYS * DAY_S + (first / n) * DAYS * DAY_S
        await asyncio.gather(*(log.append(tenant, r, keep_days=90) for r in records))
    return (time.perf_counter() - started) / n


async def _old_append(redis: Any, tenant: str, n: int) -> float:
    """The T0 write before analytics (one MULTI: ZADD + trim), for the per-write cost."""
    rng = random.Random(1)
    key = t0_log(tenant)
    started = time.perf_counter()
    for first in range(0, n, 50):

        async def one(i: int) -> None:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.zadd(key, {f"{i}:{rng.random()}": END})
                pipe.zremrangebyscore(key, "-inf", END - 90 * DAY_S)
                await pipe.execute()

        await asyncio.gather(*(one(i) for i in range(first, min(n, first + 50))))
    return (time.perf_counter() - started) / n


def _signed_in(x_tenant: Annotated[str, Header()]) -> str:
    """The console's session dependency stands here: the tenant from a header."""
    return x_tenant


async def _timed(http: httpx.AsyncClient, path: str, tenant: str, n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        answer = await http.get(path, headers={"x-tenant": tenant})
        assert answer.status_code == 200, answer.text[:300]
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def _scan(log: ProcessingLog, tenant: str) -> float:
    """Counting the same by reading every T0 record."""
    started = time.perf_counter()
    rows = await log.records(tenant)
    Counter((r["event"], r["outcome"]) for r in rows)
    return (time.perf_counter() - started) * 1000


async def _run(url: str, sizes: list[int], requests: int) -> None:
    redis = redis_client(url)
    await redis.flushdb()
    clock = [END]
    log = ProcessingLog(redis, clock=lambda: clock[0])
    write_new = 0.0
    for n in sizes:
        write_new = await _fill(log, clock, f"t{n}", n)
    write_old = await _old_append(redis, "old", min(sizes[-1], 20_000))
    app = FastAPI()
    app.include_router(analytics_router(AnalyticsReader(redis), tenant=_signed_in, clock=lambda: END))
    print(f"T0 write: ZADD+trim {write_old * 1e6:.0f} µs/record, with the rollup {write_new * 1e6:.0f} µs/record "
          f"(x{write_new / write_old:.2f}; 50 writes in flight)")  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as http:
        for path in ("/api/analytics", "/api/analytics.csv", "/analytics"):
            await _timed(http, path, f"t{sizes[0]}", 3)  # warm up
            times = [await _timed(http, path, f"t{n}", requests) for n in sizes]
            cells = ", ".join(f"{n:,} records {ms:.1f} ms" for n, ms in zip(sizes, times, strict=True))
            print(f"{path:20} 30 days: {cells} (x{times[-1] / times[0]:.2f}), median of {requests}")
    scans = [await _scan(log, f"t{n}") for n in sizes]
    cells = ", ".join(f"{ms:.1f} ms" for ms in scans)
    print(f"{'scan every T0 record':20} for contrast: {cells} (x{scans[-1] / scans[0]:.1f})")
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = RedisServer(Path(folder))
        server.start()
        try:
            asyncio.run(_run(server.url, sorted(args.sizes), args.requests))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
