"""The PII engine behind a time budget that fails closed: a text not scanned in time never reaches a prompt.

Every detector is bounded (`python -m bench.hostile` measures each), and the budget is the guarantee on top:
`PiiGuard.minimize` scans in the process's bounded executor, off the event loop, and raises `PiiTimeout` for a
text not scanned within `budget_s`; the caller answers with its fallback. Detection (text → spans, a pure
function) runs in the executor; placeholders are assigned back on the caller's side, where the vault lives.

Threads, not processes: CPython's `re` holds the GIL for one whole match, so a thread alone would not keep the
event loop responsive against a catastrophic pattern. None is left: the longest single match call on any
hostile text of 4,096 characters is a few milliseconds, the scan checks its deadline between detectors, and
bench.hostile measures the event loop's worst lag while hostile texts are scanned beside it. A process pool
would add a copy of every lexicon per process and an IPC round trip per message, for a case that no longer
exists; the property tests (tests/pipelines/pii/test_worst_case.py) keep it from coming back.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from pipelines.pii.deadline import Deadline, PiiTimeout

if TYPE_CHECKING:
    from collections.abc import Collection
    from concurrent.futures import Executor

    from pipelines.pii.minimizer import Minimized, Minimizer
    from pipelines.pii.vault import Vault

DEFAULT_BUDGET_S = 1.0  # per message; the worst hostile text takes ~50 ms of one core (bench.hostile)


class PiiGuard:
    """One per process, built at the composition root around an executor of its own (`shutdown()` stops it),
    and shared by every caller that minimizes there (the turn, memory, tool results, the call agent, the CLI)."""

    def __init__(
        self, minimizer: Minimizer, executor: Executor, *, budget_s: float = DEFAULT_BUDGET_S
    ) -> None:
        if budget_s <= 0:
            raise ValueError("budget_s must be positive")
        self._minimizer = minimizer
        self._executor = executor
        self._budget_s = budget_s

    @property
    def minimizer(self) -> Minimizer:
        return self._minimizer

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def minimize(self, text: str, vault: Vault, *, public: Collection[str] = ()) -> Minimized:
        """`Minimizer.minimize` off the event loop; raises `PiiTimeout` past the budget (the wait for a free
        executor thread counts: a queue of slow texts must not hold a message back either)."""
        deadline = Deadline.after(self._budget_s)
        scan = partial(self._minimizer.scan, text, vault, public=public, deadline=deadline)
        future = asyncio.get_running_loop().run_in_executor(self._executor, scan)
        try:
            spans = await asyncio.wait_for(future, self._budget_s)
        except TimeoutError:
            raise PiiTimeout from None
        return self._minimizer.replace(text, spans, vault)

    def minimize_blocking(self, text: str, vault: Vault, *, public: Collection[str] = ()) -> Minimized:
        """The same, for a caller without an event loop (the CLI): waits in this thread, within the budget."""
        deadline = Deadline.after(self._budget_s)
        future = self._executor.submit(self._minimizer.scan, text, vault, public=public, deadline=deadline)
        try:
            spans = future.result(timeout=self._budget_s)
        except TimeoutError:
            future.cancel()
            raise PiiTimeout from None
        return self._minimizer.replace(text, spans, vault)
