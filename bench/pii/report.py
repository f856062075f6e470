"""The printed report: the dataset, one column per system, and leaked examples for a closer look."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.pii.dataset import FORMS
from bench.pii.labels import Label
from bench.pii.score import CHECKSUM_TYPES, PRF, Run, Scores, Share, uncovered

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from bench.pii.conversation import TurnCost
    from bench.pii.dataset import Example


@dataclass(frozen=True, slots=True)
class Column:
    """One system's results, or why there are none (`scores` is None)."""

    label: str
    note: str
    scores: Scores | None = None
    run: Run | None = None
    tuning: str = ""  # how a threshold was chosen, if one was


_CELL = 18  # width of one system's P/R/F1 cell
MODES = ("written", "spoken")


def describe_dataset(dataset: Sequence[Example], seed: int) -> Iterator[str]:
    categories = Counter(e.category for e in dataset)
    modes = Counter(e.mode for e in dataset)
    languages = Counter(e.language for e in dataset)
    spans = sum(len(e.spans) for e in dataset)
    decoys = Counter(d.kind for e in dataset for d in e.decoys)
    pii_free = len(dataset) - categories["pii"]
    yield f"dataset: {len(dataset)} synthetic messages (seed {seed}), {spans} gold spans, {decoys.total()} decoys"
    yield (
        f"  with PII {categories['pii']}, PII-free {pii_free} ({pii_free / len(dataset):.0%}: "
        f"{categories['hard_negative']} hard negatives, {categories['clean']} small talk)"
    )
    by_mode = Counter((e.mode, e.category) for e in dataset)
    yield "  " + "; ".join(
        f"{mode} {modes[mode]} ({by_mode[mode, 'pii']} PII / {modes[mode] - by_mode[mode, 'pii']} PII-free)"
        for mode in MODES
    )
    yield "  " + ", ".join(f"{lang} {languages[lang]}" for lang in ("en", "hinglish", "devanagari"))
    forms: Counter[str] = Counter(s.form for e in dataset for s in e.spans if s.form)
    yield "  " + ", ".join(f"{name} {forms[form]} spans" for form, name in FORMS.items())


def _prf_cell(prf: PRF | None) -> str:
    """P is "-" where the system predicted nothing of the type."""
    prf = prf or PRF()
    precision = f"{prf.precision:5.2f}" if prf.predicted else f"{'-':>5}"
    return f"{precision} {prf.recall:5.2f} {prf.f1:5.2f}".rjust(_CELL)


def compare(dataset: Sequence[Example], columns: Sequence[Column]) -> Iterator[str]:
    """Notes for every system; tables for those that ran."""
    for c in columns:
        yield f"{c.label}: {c.note}"
    yield ""
    ran = [(c.label, c.scores) for c in columns if c.scores is not None]
    gold = Counter((s.type, e.mode) for e in dataset for s in e.spans)
    extra = sorted({t for _, s in ran for t in s.per_type} - set(Label))  # predicted types with no gold data
    yield f"{'type':<14}{'gold':>5}{'wrt':>5}{'spk':>5} |" + "|".join(f"{label:>{_CELL}}" for label, _ in ran)
    yield f"{'':<29} |" + "|".join(f"{'P     R    F1':>{_CELL}}" for _ in ran)
    for t in [*Label, *extra]:
        written, spoken = gold[t, "written"], gold[t, "spoken"]
        cells = "|".join(_prf_cell(s.per_type.get(t)) for _, s in ran)
        yield f"{t!s:<14}{written + spoken:>5}{written:>5}{spoken:>5} |{cells}"
    written = sum(n for (_, mode), n in gold.items() if mode == "written")
    spoken = sum(n for (_, mode), n in gold.items() if mode == "spoken")
    checksum = [t for t in Label if t in CHECKSUM_TYPES]
    checksum_gold = [sum(n for (t, mode), n in gold.items() if t in checksum and mode == m) for m in MODES]
    rows: tuple[tuple[str, Callable[[Scores], PRF], list[int]], ...] = (
        ("all, typed", lambda s: s.typed, [written, spoken]),
        ("checksum types", lambda s: s.checksum, checksum_gold),
        ("all, any type", lambda s: s.any_type, [written, spoken]),
    )
    for label, total, (w, sp) in rows:
        cells = "|".join(_prf_cell(total(s)) for _, s in ran)
        yield f"{label:<14}{w + sp:>5}{w:>5}{sp:>5} |{cells}"
    yield f"  (checksum types: {', '.join(checksum)})"
    if ran:
        yield ""
        yield from _summary([c for c in columns if c.scores is not None])


def _pct(share: Share | None) -> str:
    return "-" if share is None else f"{share.rate:.1%}"


_SUMMARY: tuple[tuple[str, Callable[[Scores], str]], ...] = (
    ("leak, written (PII chars)", lambda s: _pct(s.leak_by_mode.get("written"))),
    ("leak, spoken (PII chars)", lambda s: _pct(s.leak_by_mode.get("spoken"))),
    ("  leak, en", lambda s: _pct(s.leak_by_language.get("en"))),
    ("  leak, hinglish", lambda s: _pct(s.leak_by_language.get("hinglish"))),
    ("  leak, devanagari", lambda s: _pct(s.leak_by_language.get("devanagari"))),
    *(
        (f"  leak, {name}", lambda s, form=form: _pct(s.leak_by_form.get(form)))
        for form, name in FORMS.items()
    ),
    ("false alarms (PII-free msgs)", lambda s: _pct(s.false_alarm)),
    ("over-masking (non-PII chars)", lambda s: _pct(s.over_masking)),
    ("msgs/s, one core (wall)", lambda s: f"{s.latency.per_second:,.0f}"),
    ("msgs/s, one core (CPU time)", lambda s: f"{s.per_cpu_second:,.0f}"),
    ("latency p50 / p95 ms", lambda s: f"{s.latency.percentile(50):.2f} / {s.latency.percentile(95):.2f}"),
)


def _cell(text: str) -> str:
    return f"{text:>{_CELL - 2}}  "


def _summary(columns: Sequence[Column]) -> Iterator[str]:
    yield f"{'':<29}" + "|".join(f"{c.label:>{_CELL}}" for c in columns)
    for label, value in _SUMMARY:
        yield f"{label:<29}" + "|".join(_cell(value(c.scores)) for c in columns if c.scores)
    yield f"{'errors':<29}" + "|".join(_cell(str(c.run.errors)) for c in columns if c.run)
    for c in columns:
        if c.run and c.run.first_error:
            yield f"{c.label}: first error: {c.run.first_error}"
        if c.tuning:
            yield f"{c.label}: {c.tuning}"


def decoys(columns: Sequence[Column]) -> Iterator[str]:
    """How often each kind of hard negative is (partly) masked."""
    scored = [(c.label, c.scores) for c in columns if c.scores is not None]
    if not scored:
        return
    kinds = sorted({kind for _, scores in scored for kind in scores.decoy_hits})
    yield "hard negatives masked (share of decoys overlapped by a prediction)"
    yield f"{'kind':<20}{'n':>5} |" + "|".join(f"{label:>{_CELL}}" for label, _ in scored)
    for kind in kinds:
        shares = [scores.decoy_hits.get(kind, Share()) for _, scores in scored]
        yield f"{kind:<20}{shares[0].total:>5} |" + "|".join(_cell(_pct(share)) for share in shares)


def tuning(tried: dict[float, Scores], best: float) -> str:
    steps = ", ".join(f"{t:.1f}{'*' if t == best else ''}: {s.typed.f1:.3f}" for t, s in tried.items())
    return f"score threshold by typed F1 ({steps}); * = used above"


def leaked_examples(dataset: Sequence[Example], run: Run, per_type: int) -> Iterator[str]:
    """Up to `per_type` gold spans per type that predictions leave (partly) uncovered, in context."""
    shown: Counter[Label] = Counter()
    yield f"leaked examples, {run.system} (gold span in ⟦ ⟧, then the system's spans)"
    for t in Label:
        for example, predicted in zip(dataset, run.predictions, strict=True):
            if shown[t] >= per_type:
                break
            for span in example.spans:
                if span.type != t or not uncovered(example, predicted, span) or shown[t] >= per_type:
                    continue
                shown[t] += 1
                text = example.text
                marked = f"{text[: span.start]}⟦{text[span.start : span.end]}⟧{text[span.end :]}".replace(
                    "\n", " ⏎ "
                )
                found = ", ".join(f"{p.type!s} {text[p.start : p.end]!r}" for p in predicted) or "nothing"
                yield f"  {t!s:<12} #{example.id} {example.mode}/{example.language}: {marked}"
                yield f"  {'':<12}   found: {found}"


def leak_by_type(columns: Sequence[Column]) -> Iterator[str]:
    """Share of each type's gold characters left unmasked."""
    scored = [(c.label, c.scores) for c in columns if c.scores is not None]
    if not scored:
        return
    yield "leak by type (share of the type's gold PII characters left unmasked)"
    yield f"{'type':<25}|" + "|".join(f"{label:>{_CELL}}" for label, _ in scored)
    for t in Label:
        yield f"{t!s:<25}|" + "|".join(_cell(_pct(scores.leak_by_type.get(t))) for _, scores in scored)


def targets(scores: Scores, cost: TurnCost | None) -> Iterator[str]:
    """Our engine against the issue's targets (printed numbers; nothing here passes or fails a build)."""
    latency = scores.latency
    rows: list[tuple[str, str, bool]] = [
        ("leak, written <= 2 %", _pct(scores.leak_by_mode.get("written")),
         scores.leak_by_mode.get("written", Share()).rate <= 0.02),
        ("leak, spoken <= 5 %", _pct(scores.leak_by_mode.get("spoken")),
         scores.leak_by_mode.get("spoken", Share()).rate <= 0.05),
        ("typed F1, checksum types >= 0.95", f"{scores.checksum.f1:.3f}", scores.checksum.f1 >= 0.95),
        ("PERSON recall >= 0.85", f"{scores.per_type[Label.PERSON].recall:.3f}",
         scores.per_type[Label.PERSON].recall >= 0.85),
        ("ADDRESS recall >= 0.85", f"{scores.per_type[Label.ADDRESS].recall:.3f}",
         scores.per_type[Label.ADDRESS].recall >= 0.85),
        ("false alarms <= 5 %", _pct(scores.false_alarm), scores.false_alarm.rate <= 0.05),
        ("over-masking <= 1 %", _pct(scores.over_masking), scores.over_masking.rate <= 0.01),
        ("p95 <= 5 ms per message", f"{latency.percentile(95):.2f} ms", latency.percentile(95) <= 5),
        ("msgs/s on one core >= 2,000 (CPU time)", f"{scores.per_cpu_second:,.0f}", scores.per_cpu_second >= 2000),
    ]  # fmt: skip
    if cost is not None:
        rows.append(
            (
                f"turn cost, {cost.turns} turns vs 1 (~1.0)",
                f"{cost.ratio:.2f} ({cost.late_ms:.3f} / {cost.one_turn_ms:.3f} ms)",
                cost.ratio <= 1.2,
            )
        )
    yield "targets (ours)"
    for label, value, met in rows:
        yield f"  {label:<40}{value:>28}  {'met' if met else 'MISSED'}"
    if cost is not None:
        yield (
            f"  (turn cost: median ms per turn over the last turns of {cost.conversations} conversations of "
            f"{cost.turns} turns with one vault, vs the same messages each alone; all turns "
            f"{cost.long_ms:.3f} ms)"
        )
