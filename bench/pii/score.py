"""Scores of one system's predictions against the gold spans.

Span level: a prediction matches a gold span when the two overlap and have the same type (type-agnostic:
any overlap). Precision counts matched predictions, recall matched gold spans. Character level: the leak
rate is the share of gold PII characters no prediction covers; over-masking the share of other characters
that some prediction covers. A false alarm is a PII-free message with any prediction at all.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.pii.labels import Label

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bench.pii.dataset import Example, GoldSpan


@dataclass(frozen=True, slots=True)
class Prediction:
    start: int
    end: int
    type: str  # a Label, or an engine type the gold set does not label yet
    score: float = 1.0


@dataclass(frozen=True, slots=True)
class Run:
    """One system over the dataset: predictions aligned with the examples, wall time per message."""

    system: str
    predictions: Sequence[Sequence[Prediction]]
    latencies_ms: Sequence[float]
    errors: int = 0
    first_error: str = ""
    cpu_s: float = 0.0  # CPU time of the whole timed loop: unlike wall time, not inflated by other processes


@dataclass(frozen=True, slots=True)
class PRF:
    gold: int = 0
    predicted: int = 0
    gold_found: int = 0  # gold spans overlapped by a matching prediction
    predicted_right: int = 0  # predictions that overlap a matching gold span

    @property
    def precision(self) -> float:
        return self.predicted_right / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.gold_found / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: PRF) -> PRF:
        return PRF(
            self.gold + other.gold,
            self.predicted + other.predicted,
            self.gold_found + other.gold_found,
            self.predicted_right + other.predicted_right,
        )


@dataclass(frozen=True, slots=True)
class Share:
    hits: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 0.0

    def __add__(self, other: Share) -> Share:
        return Share(self.hits + other.hits, self.total + other.total)


@dataclass(frozen=True, slots=True)
class Latency:
    """Wall time per message, in milliseconds."""

    samples_ms: Sequence[float] = field(repr=False)

    @property
    def per_second(self) -> float:
        total = sum(self.samples_ms)
        return 1000 * len(self.samples_ms) / total if total else 0.0

    def percentile(self, q: int) -> float:
        if len(self.samples_ms) < 2:
            return self.samples_ms[0] if self.samples_ms else 0.0
        return statistics.quantiles(self.samples_ms, n=100, method="inclusive")[q - 1]


# Types whose values carry a checksum the detectors verify (Luhn, Verhoeff, mod-97, mod-36, PAN structure).
CHECKSUM_TYPES: tuple[Label, ...] = (
    Label.CARD,
    Label.AADHAAR,
    Label.PAN,
    Label.IBAN,
    Label.VOTER_ID,
    Label.GSTIN,
)


@dataclass(frozen=True, slots=True)
class Scores:
    per_type: dict[str, PRF]  # every Label, and any other type a system predicted
    typed: PRF  # micro-average over types
    checksum: PRF  # micro-average over CHECKSUM_TYPES
    any_type: PRF
    leak_by_mode: dict[str, Share]  # gold characters left uncovered: written, spoken
    leak_by_language: dict[str, Share]
    leak_by_type: dict[str, Share]
    leak_by_form: dict[str, Share]  # the forms in `dataset.FORMS`
    false_alarm: Share
    over_masking: Share
    decoy_hits: dict[str, Share]
    latency: Latency
    per_cpu_second: float  # messages per CPU-second: throughput on one core, whatever else the machine runs


def _overlaps(a: GoldSpan | Prediction, b: GoldSpan | Prediction) -> bool:
    return a.start < b.end and b.start < a.end


def _match(
    gold: Sequence[GoldSpan], predicted: Sequence[Prediction], *, same_type: bool
) -> tuple[list[bool], list[bool]]:
    """Which gold spans some prediction finds, and which predictions find some gold span."""

    def matches(g: GoldSpan, p: Prediction) -> bool:
        return _overlaps(g, p) and (not same_type or p.type == g.type)

    found = [any(matches(g, p) for p in predicted) for g in gold]
    right = [any(matches(g, p) for g in gold) for p in predicted]
    return found, right


def _tally(
    gold: Sequence[GoldSpan], predicted: Sequence[Prediction], *, same_type: bool
) -> list[tuple[str, PRF]]:
    found, right = _match(gold, predicted, same_type=same_type)
    return [(g.type, PRF(gold=1, gold_found=f)) for g, f in zip(gold, found, strict=True)] + [
        (p.type, PRF(predicted=1, predicted_right=r)) for p, r in zip(predicted, right, strict=True)
    ]


def uncovered(example: Example, predicted: Sequence[Prediction], span: GoldSpan) -> int:
    """Characters of the gold span that no prediction covers."""
    covered = _coverage(len(example.text), predicted)
    return sum(1 for i in range(span.start, span.end) if not covered[i])


def _coverage(length: int, spans: Sequence[GoldSpan | Prediction]) -> list[bool]:
    covered = [False] * length
    for s in spans:
        start, end = max(s.start, 0), min(s.end, length)
        covered[start:end] = [True] * max(end - start, 0)
    return covered


def score(dataset: Sequence[Example], run: Run) -> Scores:
    per_type: dict[str, PRF] = {t: PRF() for t in Label}
    any_type = PRF()
    leak_by_mode: dict[str, Share] = {}
    leak_by_language: dict[str, Share] = {}
    leak_by_type: dict[str, Share] = {}
    leak_by_form: dict[str, Share] = {}
    false_alarm, over_masking = Share(), Share()
    decoy_hits: dict[str, Share] = {}
    for example, predicted in zip(dataset, run.predictions, strict=True):
        for type_, prf in _tally(example.spans, predicted, same_type=True):
            per_type[type_] = per_type.get(type_, PRF()) + prf
        for _, prf in _tally(example.spans, predicted, same_type=False):
            any_type += prf
        masked = _coverage(len(example.text), predicted)
        is_pii = _coverage(len(example.text), example.spans)
        gold_chars = sum(is_pii)
        leaked = sum(1 for m, g in zip(masked, is_pii, strict=True) if g and not m)
        overmasked = sum(1 for m, g in zip(masked, is_pii, strict=True) if m and not g)
        leak = Share(leaked, gold_chars)
        leak_by_mode[example.mode] = leak_by_mode.get(example.mode, Share()) + leak
        leak_by_language[example.language] = leak_by_language.get(example.language, Share()) + leak
        for span in example.spans:
            missed = sum(1 for i in range(span.start, span.end) if not masked[i])
            span_leak = Share(missed, span.end - span.start)
            leak_by_type[span.type] = leak_by_type.get(span.type, Share()) + span_leak
            if span.form:
                leak_by_form[span.form] = leak_by_form.get(span.form, Share()) + span_leak
        if not example.spans:
            false_alarm += Share(bool(predicted), 1)
        over_masking += Share(overmasked, len(masked) - gold_chars)
        for decoy in example.decoys:
            hit = any(decoy.start < p.end and p.start < decoy.end for p in predicted)
            decoy_hits[decoy.kind] = decoy_hits.get(decoy.kind, Share()) + Share(hit, 1)
    return Scores(
        per_type=per_type,
        typed=sum(per_type.values(), PRF()),
        checksum=sum((per_type[t] for t in CHECKSUM_TYPES), PRF()),
        any_type=any_type,
        leak_by_mode=leak_by_mode,
        leak_by_language=leak_by_language,
        leak_by_type=leak_by_type,
        leak_by_form=leak_by_form,
        false_alarm=false_alarm,
        over_masking=over_masking,
        decoy_hits=decoy_hits,
        latency=Latency(run.latencies_ms),
        per_cpu_second=len(run.latencies_ms) / run.cpu_s if run.cpu_s else 0.0,
    )
