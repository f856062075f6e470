"""A scan's deadline: past it, the text being scanned must not go on (fail closed)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


class PiiTimeout(Exception):  # noqa: N818 - a verdict about the text, not a fault of the engine
    """A text could not be scanned for personal data within its budget: it must not reach a prompt or a log."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """Checked between the steps of a scan (the shadow, each detector), so a scan past its deadline stops
    within one detector's time instead of running on in a thread nobody waits for."""

    at: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def check(self) -> None:
        if self.clock() >= self.at:
            raise PiiTimeout
