"""The held-out part of the report: per-type leak, written and spoken, false alarms and over-masking."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.pii.labels import Label
from bench.pii.score import Share, uncovered

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from bench.pii.dataset import Example
    from bench.pii.score import Run, Scores

_MODES = ("written", "spoken")


def leak_by_type_and_mode(dataset: Sequence[Example], run: Run) -> dict[tuple[Label, str], Share]:
    """Share of each type's gold characters left unmasked, per mode."""
    leaks: dict[tuple[Label, str], Share] = {}
    for example, predicted in zip(dataset, run.predictions, strict=True):
        for span in example.spans:
            key = (Label(span.type), example.mode)
            leaks[key] = leaks.get(key, Share()) + Share(
                uncovered(example, predicted, span), span.end - span.start
            )
    return leaks


def _pct(share: Share | None) -> str:
    return "-" if share is None or not share.total else f"{share.rate:.1%} ({share.total})"


HELD_OUT_TITLE = "HELD OUT (bench/pii/heldout: never read while tuning)"


def held_out(
    parts: Sequence[tuple[str, Sequence[Example], Run, Scores]], title: str = HELD_OUT_TITLE
) -> Iterator[str]:
    """One column pair (written / spoken) per part: per-type leak, then the message-level numbers."""
    tables = [(name, leak_by_type_and_mode(data, run), scores) for name, data, run, scores in parts]
    yield f"{title} — leak by type, share of gold characters (chars)"
    yield f"{'type':<14}" + "".join(f"| {name + ' ' + mode:>26}" for name, _, _ in tables for mode in _MODES)
    for t in Label:
        cells = [leaks.get((t, mode)) for _, leaks, _ in tables for mode in _MODES]
        if any(c is not None for c in cells):
            yield f"{t!s:<14}" + "".join(f"| {_pct(c):>26}" for c in cells)
    yield f"{'all types':<14}" + "".join(
        f"| {_pct(scores.leak_by_mode.get(mode)):>26}" for _, _, scores in tables for mode in _MODES
    )
    # Message-level numbers for the whole part (written and spoken together), in its first column.
    yield f"{'false alarms':<14}" + "".join(f"| {_pct(s.false_alarm):>26}| {'':>26}" for _, _, s in tables)
    yield f"{'over-masking':<14}" + "".join(f"| {s.over_masking.rate:>26.1%}| {'':>26}" for _, _, s in tables)
