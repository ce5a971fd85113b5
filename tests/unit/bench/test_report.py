"""The benchmark report's logic (bench.report): goals judging ratios, the results table."""

from __future__ import annotations

from bench.report import Figure, Goal, fmt, table


def test_goals_judge_the_ratio() -> None:
    at_least = Figure("s", "f", "req/s", "b", [6.0, 6.0, 6.0], [10.0, 10.0, 10.0], Goal(">=", 0.6))
    assert at_least.ratio == 0.6 and at_least.met is True
    at_most = Figure("s", "f", "ms", "b", [2.0, 2.0, 2.0], [1.0, 1.0, 1.0], Goal("<=", 1.5))
    assert at_most.met is False
    lost = Figure("s", "f", "events", "b", [0, 1, 0], [0, 0, 0], Goal("zero"), combine="sum")
    assert lost.rollcall == 1 and lost.met is False and lost.ratio is None
    reported = Figure("s", "f", "bytes", "-", [10.0], [])
    assert reported.met is None and reported.ratio is None
    # An absolute goal, in the figure's unit, with no baseline.
    fast = Figure("s", "f", "ms", "-", [400.0, 900.0, 500.0], [], Goal("under", 1000.0))
    slow = Figure("s", "f", "ms", "-", [1200.0, 900.0, 1500.0], [], Goal("under", 1000.0))
    assert (fast.met, slow.met, fast.ratio) == (True, False, None)
    assert fast.goal.describe() == "< 1000"


def test_table_has_one_row_per_figure_under_its_section() -> None:
    figures = [
        Figure("gRPC", "Fetch req/s", "req/s", "b", [900.0], [1000.0], Goal(">=", 0.6)),
        Figure("memory", "RSS", "bytes", "-", [2048.0], []),
    ]
    text = table(figures)
    assert "[gRPC]" in text and "[memory]" in text
    assert "0.90x" in text and "yes" in text and "2.0 KiB" in text
    assert fmt(None, "ms") == "-"


def test_every_figure_carries_the_machine_s_load() -> None:
    figure = Figure("s", "Fetch req/s", "req/s", "bare", [1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    assert figure.as_json()["load"] == figure.load >= 0.0
