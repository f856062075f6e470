"""The staff console (issue 15): page weight, customer message → its row in a real browser's inbox (p50 over
20, Chromium through Playwright, live over Server-Sent Events), and the takeover race: staff take over while
the assistant's turn waits for the LLM; counts the trials in which the assistant sent nothing afterwards.

Runs the whole product in-process (tests/agent/stack.py: ingress, worker, a real redis-server, the local
Graph and LLM peers) with the console on a real port. Prints numbers; never pass/fail.
`python -m bench.console [--trials N]`."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

from agent.storage.erasure import Fence
from agent.storage.redis_client import RedisClient, redis_client
from agent.storage.staff_thread import Contact, StaffThread
from pipelines.stt import WhisperTranscriber, load_whisper
from pipelines.tts import PiperSynthesizer, load_piper
from tests.agent.console.stack import OWNER, PASSWORD, Console, running_console
from tests.agent.stack import TOKEN, TOKEN_ENV, eventually, running_stack
from tests.redis_server import RedisServer


async def page_weight(console: Console) -> dict[str, int]:
    """Bytes a first visit transfers (no compression, nothing from elsewhere)."""
    async with console.client() as staff, httpx.AsyncClient(base_url=console.url) as anonymous:
        sizes = {
            "login_html": len((await anonymous.get("/login")).content),
            "inbox_html": len((await staff.get("/inbox")).content),
            "console_js": len((await staff.get("/static/console.js")).content),
            "console_css": len((await staff.get("/static/console.css")).content),
        }
    sizes["inbox_total"] = sizes["inbox_html"] + sizes["console_js"] + sizes["console_css"]
    return sizes


async def inbox_latency(console: Console, rounds: int) -> dict[str, float]:
    """From the webhook POST of "talk to a person" until its row is in the open inbox page (no reload)."""
    samples = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=shutil.which("chromium"))
        page = await browser.new_page()
        await page.goto(f"{console.url}/login")
        await page.fill("#email", OWNER)
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_selector("text=Live: new conversations appear here.")
        for i in range(rounds):
            user = f"9197000{i:05d}"
            await console.customer_says(user, "hello", f"wamid.lat.{i}.1")
            await eventually(lambda u=user: len(console.stack.sent_to(u)) == 1)  # type: ignore[misc]
            conv = console.stack.privacy.subject("default", user)
            start = time.perf_counter()
            await console.customer_says(user, "talk to a person", f"wamid.lat.{i}.2")
            await page.wait_for_selector(f'#waiting li[data-conv="{conv}"]', timeout=30_000)
            samples.append(time.perf_counter() - start)
        await browser.close()
    ordered = sorted(samples)
    return {
        "rounds": rounds,
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def takeover_race(console: Console, trials: int) -> dict[str, int]:
    """Each trial: a turn waits inside the LLM call; staff take over; the LLM answers; the assistant must send
    nothing more to that person."""
    stack = console.stack
    clean = 0
    async with console.client() as staff:
        for i in range(trials):
            user = f"9196000{i:05d}"
            await console.customer_says(user, "hello", f"wamid.race.{i}.1")
            await eventually(lambda u=user: len(stack.sent_to(u)) == 1)  # type: ignore[misc]
            stack.llm.hold = threading.Event()
            asked = len(stack.llm.bodies)
            await console.customer_says(user, "and the price?", f"wamid.race.{i}.2")
            await eventually(lambda a=asked: len(stack.llm.bodies) > a)  # type: ignore[misc]
            conv = stack.privacy.subject("default", user)
            taken = await staff.post(f"/api/conversations/{conv}/take")
            assert taken.status_code == 200
            sent_at_takeover = len(stack.sent_to(user))
            stack.llm.hold.set()

            async def finished(c: str = conv) -> bool:
                records = await stack.privacy.processing.records("default", c)
                return any(r.get("outcome") == "taken_over" for r in records)

            await eventually(finished)
            stack.llm.hold = None
            clean += len(stack.sent_to(user)) == sent_at_takeover
    return {"trials": trials, "no_assistant_send_after_takeover": clean}


async def turn_bookkeeping(console: Console, redis: RedisClient, rounds: int = 500) -> dict[str, float]:
    """What the console adds to every worker turn: `StaffThread.seen` (the sealed contact and the inbox
    index), timed alone on the same Redis."""
    store = console.stack.privacy.store
    thread = StaffThread(redis, store, shards=console.stack.queue.config.shards)
    contact = Contact("919811111111", "100000000000001", float(int(time.time())))
    conv = console.stack.privacy.subject("default", "919811111111")
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await thread.seen(conv, contact, fence=Fence(conv, 0))
        samples.append(time.perf_counter() - start)
    return {"rounds": rounds, "seen_p50_ms": round(statistics.median(samples) * 1000, 3)}


async def run(trials: int) -> None:
    os.environ[TOKEN_ENV] = TOKEN
    transcriber = WhisperTranscriber(load_whisper("tiny.en"))
    synthesizer = PiperSynthesizer(load_piper())
    with tempfile.TemporaryDirectory() as folder:
        server = RedisServer(Path(folder) / "redis")
        server.start()
        redis = redis_client(server.url)
        try:
            async with (
                running_stack(redis, server.url, transcriber, synthesizer) as stack,
                running_console(stack, redis) as console,
            ):
                print("console page weight (bytes)", await page_weight(console), flush=True)
                print("console message -> inbox row", await inbox_latency(console, 20), flush=True)
                print("console takeover race", await takeover_race(console, trials), flush=True)
                print(
                    "console bookkeeping per worker turn", await turn_bookkeeping(console, redis), flush=True
                )
        finally:
            await redis.aclose()
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.trials))


if __name__ == "__main__":
    main()
