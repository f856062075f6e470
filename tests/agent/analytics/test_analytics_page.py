"""The analytics page in a real browser (Playwright driving Debian's Chromium) against the real router on
uvicorn and a real redis-server: the charts are drawn (server-side SVG, no script), the date range form
reloads the numbers, the CSV link downloads the export; a screenshot is saved as a test artifact
(`out/screenshots/analytics.png`, or under `LEADCLOSE_TEST_ARTIFACTS`)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import uvicorn
from fastapi import FastAPI
from playwright.async_api import async_playwright, expect

from agent.analytics.api import analytics_router
from agent.analytics.reader import AnalyticsReader
from agent.privacy.records import ProcessingLog, ProcessingRecord
from tests.conftest import ROOT

if TYPE_CHECKING:
    from agent.storage.redis_client import RedisClient

IST = ZoneInfo("Asia/Kolkata")
DAYS = [datetime(2026, 12, d, 12, tzinfo=IST).timestamp() for d in (1, 2, 3)]


def _artifacts() -> Path:
    folder = Path(os.environ.get("LEADCLOSE_TEST_ARTIFACTS", ROOT / "out")) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _fill(redis: RedisClient) -> None:
    clock = [DAYS[0]]
    log = ProcessingLog(redis, clock=lambda: clock[0])
    for d, at in enumerate(DAYS):
        clock[0] = at
        for i in range(3 + 4 * d):
            record = ProcessingRecord(
                event="turn",
                subject=f"shop:p{i}",
                outcome="replied" if i % 4 else "handed_off",
                message=f"m{d}-{i}",
                sizes={"messages": 1, "audio": i % 2} | ({"audio_ms": 3000 + 500 * i} if i % 2 else {}),
                timings_ms={"reply": 800.0 + 300 * i, "llm": 250.0 + 20 * i},
                tokens={"prompt": 300, "completion": 40},
            )
            await log.append("shop", record, keep_days=30, zone=IST)


async def test_the_page_draws_its_charts_and_its_range_and_export_work(redis: RedisClient) -> None:
    await _fill(redis)
    app = FastAPI()
    app.include_router(analytics_router(AnalyticsReader(redis), tenant=lambda: "shop", zone_of=lambda _: IST))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=shutil.which("chromium"))
            page = await browser.new_page(viewport={"width": 1100, "height": 900}, accept_downloads=True)
            base = f"http://127.0.0.1:{sock.getsockname()[1]}"
            await page.goto(f"{base}/analytics?from=2026-12-01&to=2026-12-03")
            await expect(page.get_by_role("heading", level=2)).to_have_text(
                "Analytics, 2026-12-01 to 2026-12-03"
            )
            row = page.locator("tbody tr", has=page.get_by_role("rowheader", name="all", exact=True)).first
            await expect(row.locator("td").nth(1)).to_have_text("21")  # turns: 3 + 7 + 11
            charts = page.get_by_role("img")
            await expect(charts).to_have_count(3)
            bars = page.locator("svg rect")
            assert await bars.count() >= 9  # every day has answered and handed-off turns
            box = await bars.first.bounding_box()
            assert box is not None
            assert box["height"] > 1  # drawn, not collapsed
            await page.screenshot(path=str(_artifacts() / "analytics.png"), full_page=True)

            await page.get_by_label("From").fill("2026-12-03")
            await page.get_by_role("button", name="Show").click()
            await expect(page.get_by_role("heading", level=2)).to_have_text(
                "Analytics, 2026-12-03 to 2026-12-03"
            )
            await expect(row.locator("td").nth(1)).to_have_text("11")

            async with page.expect_download() as download_info:
                await page.get_by_role("link", name="Download CSV").click()
            download = await download_info.value
            assert download.suggested_filename == "analytics-2026-12-03-2026-12-03.csv"
            exported = await asyncio.to_thread(Path(await download.path()).read_text)
            assert exported.splitlines()[0].startswith("date,channel,conversations,turns,")
            assert "\ntotal,all,11,11," in exported
            await browser.close()
    finally:
        server.should_exit = True
        await serving
        sock.close()
