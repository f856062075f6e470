"""Chart geometry for the page's server-side SVG: numbers in, rectangles and labels out (the template
draws them; no script, no chart library)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

WIDTH, HEIGHT = 480, 240
LEFT, BOTTOM, TOP = 60, 30, 12  # room for the y labels, the x labels, the top tick
MAX_X_LABELS = 6


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    title: str  # what a screen reader and a hover say: "2026-12-07 answered: 12"


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    x_labels: tuple[Label, ...]
    y_labels: tuple[Label, ...]
    series: tuple[str, ...]  # the legend, in stacking order


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (1 for an empty chart)."""
    if value <= 0:
        return 1.0
    scale = 1.0
    while scale * 10 < value:
        scale *= 10
    while scale > value:
        scale /= 10
    return next(m * scale for m in (1, 2, 5, 10) if m * scale >= value)


def stacked_bars(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], *, unit: str = ""
) -> Chart:
    """One bar per label, the series stacked in the order given (a side by side chart: one series each)."""
    count = max(len(labels), 1)
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    top = _nice_max(max((sum(v[i] for v in series.values()) for i in range(len(labels))), default=0))
    slot = plot_w / count
    width = max(slot * 0.8, 1.0)
    bars = []
    for i, label in enumerate(labels):
        base = 0.0
        for name, values in series.items():
            value = values[i]
            if value <= 0:
                continue
            height = value / top * plot_h
            y = TOP + plot_h - base - height
            bars.append(Bar(round(LEFT + i * slot + (slot - width) / 2, 1), round(y, 1), round(width, 1),
                            round(height, 1), name, f"{label} {name}: {value:g}{unit}"))  # fmt: skip
            base += height
    every = max(1, -(-len(labels) // MAX_X_LABELS))
    x_labels = tuple(
        Label(round(LEFT + i * slot + slot / 2, 1), HEIGHT - 6, label[5:] if len(label) == 10 else label)
        for i, label in enumerate(labels)
        if i % every == 0
    )
    y_labels = tuple(
        Label(LEFT - 4, round(TOP + plot_h - f * plot_h, 1) + 4, f"{top * f:g}{unit}") for f in (0, 0.5, 1)
    )
    return Chart(title, WIDTH, HEIGHT, tuple(bars), x_labels, y_labels, tuple(series))
