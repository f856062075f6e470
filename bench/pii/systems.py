"""The systems under test behind one seam, `scan(text) -> list[Prediction]`, and the timed run over a dataset."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bench.pii.labels import Label
from bench.pii.score import Prediction, Run

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bench.pii.dataset import Example
    from pipelines.pii import Minimizer

WARMUP_MESSAGES = 20


class System(Protocol):
    name: str

    def describe(self) -> str: ...

    def scan(self, text: str) -> list[Prediction]: ...


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A system that could not be loaded, and why (shown in the report instead of its numbers)."""

    name: str
    reason: str


class LeadcloseEngine:
    """Our engine as it stands in the working tree: `Minimizer().scan`, whatever detectors it has now."""

    name = "leadclose"

    @classmethod
    def load(cls) -> LeadcloseEngine | Unavailable:
        try:
            from pipelines.pii import EntityType, Minimizer, default_detectors  # here: may be mid-edit
        except Exception as exc:  # any failure is reported; the baseline still runs
            return Unavailable(cls.name, f"pipelines.pii does not import: {type(exc).__name__}: {exc}")
        detectors = [type(d).__name__.removesuffix("Detector") for d in default_detectors()]
        unlabelled = sorted(set(EntityType) - set(Label))
        return cls(Minimizer(), detectors, unlabelled)

    def __init__(
        self, minimizer: Minimizer, detectors: Sequence[str], unlabelled: Sequence[str] = ()
    ) -> None:
        self._minimizer = minimizer
        self._detectors = tuple(detectors)
        self._unlabelled = tuple(unlabelled)

    @property
    def minimizer(self) -> Minimizer:
        return self._minimizer

    def describe(self) -> str:
        note = f"; types with no gold data yet: {', '.join(self._unlabelled)}" if self._unlabelled else ""
        return f"pipelines.pii Minimizer().scan; default detectors now: {', '.join(self._detectors)}{note}"

    def scan(self, text: str) -> list[Prediction]:
        return [Prediction(s.start, s.end, s.type) for s in self._minimizer.scan(text)]


def measure(system: System, dataset: Sequence[Example]) -> Run:
    """Scan every message once, timing each call; an exception counts as an error with no predictions."""
    for example in dataset[:WARMUP_MESSAGES]:
        _safe_scan(system, example.text)
    predictions: list[list[Prediction]] = []
    latencies: list[float] = []
    errors, first_error = 0, ""
    cpu_started = time.process_time()
    for example in dataset:
        start = time.perf_counter()
        found, error = _safe_scan(system, example.text)
        latencies.append((time.perf_counter() - start) * 1000)
        predictions.append(found)
        if error:
            errors += 1
            first_error = first_error or f"message {example.id}: {error}"
    cpu_s = time.process_time() - cpu_started
    return Run(system.name, predictions, latencies, errors, first_error, cpu_s)


def _safe_scan(system: System, text: str) -> tuple[list[Prediction], str]:
    try:
        return system.scan(text), ""
    except Exception as exc:  # counted and shown in the report; the run goes on
        return [], f"{type(exc).__name__}: {exc}"
