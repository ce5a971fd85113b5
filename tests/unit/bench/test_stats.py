"""The benchmark harness's statistics (bench.stats): percentiles, paired ratios.

No timing is asserted here; these only check that bench/ computes and
writes what it claims to (the rest of bench/ is in its own test modules beside
this one).
"""

from __future__ import annotations

from bench.stats import paired_ratio, percentile


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0


def test_paired_ratio_is_the_median_of_per_round_ratios() -> None:
    assert paired_ratio([10.0, 30.0, 20.0], [20.0, 30.0, 10.0]) == 1.0
    assert paired_ratio([None, 5.0], [1.0, 10.0]) == 0.5
    assert paired_ratio([1.0], [0.0]) is None
