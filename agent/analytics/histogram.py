"""Fixed-bucket histograms: the same buckets every day, for every tenant, so days merge by adding counts.

Bucket `i` holds values in (2^((i-1)/8), 2^(i/8)] milliseconds (bucket 0: up to 1 ms); a percentile is the
upper bound of the bucket that holds its rank, so it overstates the exact value by at most 2^(1/8) - 1 ≈ 9 %.
Values past ~73 minutes share the last bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

STEPS_PER_DOUBLING = 8
LAST_BUCKET = 22 * STEPS_PER_DOUBLING  # 2^22 ms ≈ 70 min


def bucket(value_ms: float) -> int:
    """The bucket of a value (negative and NaN values count as 0 ms: a clock step, never a crash)."""
    if not value_ms > 1.0:  # also NaN
        return 0
    if value_ms >= 2.0 ** (LAST_BUCKET / STEPS_PER_DOUBLING):  # also infinity
        return LAST_BUCKET
    index = math.ceil(math.log2(value_ms) * STEPS_PER_DOUBLING - 1e-9)
    return min(max(index, 0), LAST_BUCKET)


def upper_bound(index: int) -> float:
    """The largest value bucket `index` holds, rounded to 0.1 ms."""
    return round(float(2.0 ** (index / STEPS_PER_DOUBLING)), 1)


@dataclass(frozen=True, slots=True)
class Percentiles:
    count: int
    p50_ms: float | None  # None when nothing was observed
    p95_ms: float | None


def percentiles(counts: Mapping[int, int]) -> Percentiles:
    """Nearest-rank median and p95 of a histogram (bucket index → count)."""
    total = sum(counts.values())
    if total == 0:
        return Percentiles(0, None, None)
    return Percentiles(total, _rank(counts, total, 0.50), _rank(counts, total, 0.95))


def _rank(counts: Mapping[int, int], total: int, q: float) -> float:
    wanted = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= wanted:
            return upper_bound(index)
    raise AssertionError("unreachable: the ranks add up to the total")
