"""The benchmark harness's own logic: statistics, goals, wrk parsing, the bulk loader.

No timing is asserted here; these only check that bench/ computes and
writes what it claims to.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench import growth
from bench.report import Figure, Goal, fmt, table
from bench.rest import parse_wrk
from bench.stats import paired_ratio, percentile
from service.core.model import ParticipantStatus
from service.store.sqlite.store import SqliteStore

WRK_REPORT = """\
Running 3s test @ http://127.0.0.1:8080/x
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.53ms    2.12ms  30.00ms   80.00%
    Req/Sec     6.10k   300.00     6.50k    70.00%
  Latency Distribution
     50%  812.00us
     75%   11.00ms
     90%   12.00ms
     99%    1.20s
  18000 requests in 3.00s, 2.00MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:   6000.50
Transfer/sec:    700.00KB
"""


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0


def test_paired_ratio_is_the_median_of_per_round_ratios() -> None:
    assert paired_ratio([10.0, 30.0, 20.0], [20.0, 30.0, 10.0]) == 1.0
    assert paired_ratio([None, 5.0], [1.0, 10.0]) == 0.5
    assert paired_ratio([1.0], [0.0]) is None


def test_goals_judge_the_ratio() -> None:
    at_least = Figure("s", "f", "req/s", "b", [6.0, 6.0, 6.0], [10.0, 10.0, 10.0], Goal(">=", 0.6))
    assert at_least.ratio == 0.6 and at_least.met is True
    at_most = Figure("s", "f", "ms", "b", [2.0, 2.0, 2.0], [1.0, 1.0, 1.0], Goal("<=", 1.5))
    assert at_most.met is False
    lost = Figure("s", "f", "events", "b", [0, 1, 0], [0, 0, 0], Goal("zero"), combine="sum")
    assert lost.rollcall == 1 and lost.met is False and lost.ratio is None
    reported = Figure("s", "f", "bytes", "-", [10.0], [])
    assert reported.met is None and reported.ratio is None


def test_table_has_one_row_per_figure_under_its_section() -> None:
    figures = [
        Figure("gRPC", "Fetch req/s", "req/s", "b", [900.0], [1000.0], Goal(">=", 0.6)),
        Figure("memory", "RSS", "bytes", "-", [2048.0], []),
    ]
    text = table(figures)
    assert "[gRPC]" in text and "[memory]" in text
    assert "0.90x" in text and "yes" in text and "2.0 KiB" in text
    assert fmt(None, "ms") == "-"


def test_parse_wrk_reads_rate_percentiles_and_errors() -> None:
    parsed = parse_wrk(WRK_REPORT)
    assert parsed["rps"] == 6000.5
    assert parsed["requests"] == 18000
    assert parsed["p50_ms"] == 0.812
    assert parsed["p99_ms"] == 1200.0
    assert parsed["errors"] == 8


def _schema(path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        return {(name, sql) for name, sql in rows}


async def test_bulk_loaded_database_is_what_the_store_reads(tmp_path: Path) -> None:
    loaded = tmp_path / "loaded.sqlite3"
    growth.build(loaded, 450)
    fresh = SqliteStore(str(tmp_path / "fresh.sqlite3"))
    await fresh.open()
    await fresh.close()
    assert _schema(loaded) == _schema(tmp_path / "fresh.sqlite3")

    store = SqliteStore(str(loaded))
    await store.open()
    try:
        for name in growth.sample_names(450, 5):
            parts = name.split("/")
            found = await store.participant(parts[3], parts[5], include_ended=True)
            assert found is not None and found.call_sid == parts[5]
            assert found.status is ParticipantStatus.COMPLETE
            assert await store.participant(parts[3], parts[5], include_ended=False) is None
        conference = growth.conference_sid(2)
        events = await store.events(conference, 0, 1000)
        assert [e.revision for e in events] == list(range(1, 52))  # 50 leaves, then the end
        assert await store.webhook_backlog() == []
        assert await store.active_participants_everywhere() == []
    finally:
        await store.close()
