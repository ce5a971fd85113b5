"""Benchmarks that measure Rollcall's hot paths as ratios against baselines run beside them.

Run them all with `./bench/run` (or `.venv/bin/python -m bench`); `--quick` for a
short pass, `--full` to add the 1M-participant cost-growth point. See
bench/__main__.py for the figures and how a run is put together.
"""
