"""Small statistics: percentiles of sorted samples and medians over rounds.

Rule 1: every reported figure is a median over rounds.
Rule 2: a ratio is the median of the per-round ratios (each round pairs a baseline
        run with a Rollcall run taken right after it), which cancels slow drifts of
        a shared, noisy machine better than a ratio of two medians.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        raise ValueError("no values")
    rank = min(len(sorted_values), max(1, math.ceil(pct / 100 * len(sorted_values))))
    return float(sorted_values[rank - 1])


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def paired_ratio(
    rollcall: Sequence[float | None], baseline: Sequence[float | None]
) -> float | None:
    """Median over rounds of rollcall/baseline (rounds missing either side are skipped)."""
    ratios = [r / b for r, b in zip(rollcall, baseline, strict=True) if r is not None and b]
    return statistics.median(ratios) if ratios else None
