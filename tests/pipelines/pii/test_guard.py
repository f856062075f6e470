"""minimize() off the event loop, within a per-message budget that fails closed (issue 12)."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from pipelines.pii import (
    Deadline,
    EntityType,
    Minimizer,
    PiiGuard,
    PiiTimeout,
    Span,
    Vault,
    default_detectors,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

TEXT = "call me on 98765 43210 or mail priya.sharma@gmail.com"


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-guard")
    yield pool
    pool.shutdown(cancel_futures=True)


class _ThreadProbe:
    """A detector that finds nothing and notes the thread it ran on."""

    type = EntityType.PERSON

    def __init__(self) -> None:
        self.threads: list[str] = []

    def find(self, text: str) -> Iterator[Span]:
        self.threads.append(threading.current_thread().name)
        return iter(())


async def test_minimize_off_the_loop_is_what_the_minimizer_gives(executor: ThreadPoolExecutor) -> None:
    probe = _ThreadProbe()
    guard = PiiGuard(Minimizer([*default_detectors(), probe]), executor, budget_s=10)
    got = await guard.minimize(TEXT, Vault())
    assert got == Minimizer().minimize(TEXT, Vault())
    assert got.text == "call me on <PHONE_1> or mail <EMAIL_1>"
    assert probe.threads
    assert all(t.startswith("test-guard") for t in probe.threads)


async def test_past_the_budget_the_text_fails_closed_and_the_vault_is_untouched(
    executor: ThreadPoolExecutor,
) -> None:
    vault = Vault()
    with pytest.raises(PiiTimeout):
        await PiiGuard(Minimizer(), executor, budget_s=1e-9).minimize(TEXT, vault)
    assert len(vault) == 0
    with pytest.raises(PiiTimeout):
        PiiGuard(Minimizer(), executor, budget_s=1e-9).minimize_blocking(TEXT, vault)
    assert len(vault) == 0


async def test_waiting_for_a_busy_executor_counts_and_the_loop_keeps_running(
    executor: ThreadPoolExecutor,
) -> None:
    """The executor's only thread is held: the message fails at its deadline, and meanwhile the event loop
    (heartbeats, other conversations) runs on."""
    release = threading.Event()
    executor.submit(release.wait, 10)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    try:
        with pytest.raises(PiiTimeout):
            await PiiGuard(Minimizer(), executor, budget_s=0.3).minimize(TEXT, Vault())
    finally:
        release.set()
        ticker.cancel()
    assert 0.3 <= time.monotonic() - started < 5
    assert ticks >= 5


def test_a_scan_checks_its_deadline_between_detectors() -> None:
    now = [0.0]
    deadline = Deadline(1.0, clock=lambda: now[0])
    assert Minimizer().scan(TEXT, deadline=deadline)  # in time
    now[0] = 1.0
    with pytest.raises(PiiTimeout):
        Minimizer().scan(TEXT, deadline=deadline)


def test_a_budget_must_be_positive(executor: ThreadPoolExecutor) -> None:
    with pytest.raises(ValueError, match="budget_s"):
        PiiGuard(Minimizer(), executor, budget_s=0)
