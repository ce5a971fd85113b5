"""Benchmarks that measure Rollcall's hot paths as ratios against baselines run beside them.

Rule 1: run them all with `./bench/run` (or `.venv/bin/python -m bench`); `--quick`
        for a short pass, `--full` to add the 1M-participant cost-growth point.
Rule 2: bench/__main__.py says what the figures are and how a run is put together.
"""
