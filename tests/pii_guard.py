"""The PII guard tests hand to stages: the production class, around one small executor for the whole test
session (a process has one), with a budget generous enough for a shared CI machine."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pipelines.pii import Minimizer, PiiGuard

_EXECUTOR = ThreadPoolExecutor(max_workers=2, thread_name_prefix="test-pii")
TEST_BUDGET_S = 10.0


def pii_guard(minimizer: Minimizer | None = None, *, budget_s: float = TEST_BUDGET_S) -> PiiGuard:
    """A guard on the session's executor; never `shutdown()` it (other tests share the executor)."""
    return PiiGuard(minimizer or Minimizer(), _EXECUTOR, budget_s=budget_s)
