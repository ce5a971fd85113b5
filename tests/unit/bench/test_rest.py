"""The REST benchmark's reading of wrk's report (bench.rest.parse_wrk)."""

from __future__ import annotations

from bench.rest import parse_wrk

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


def test_parse_wrk_reads_rate_percentiles_and_errors() -> None:
    parsed = parse_wrk(WRK_REPORT)
    assert parsed["rps"] == 6000.5
    assert parsed["requests"] == 18000
    assert parsed["p50_ms"] == 0.812
    assert parsed["p99_ms"] == 1200.0
    assert parsed["errors"] == 8
