"""How long each figure is measured in each mode: --quick, the default run, --full.

Rule 1: every mode runs every figure with at least three rounds where a ratio is
        judged (the median needs three).
Rule 2: modes differ only in window lengths and in the largest cost-growth database
        (1M stored participants only with --full: building it once takes minutes,
        see bench/growth.py).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Budget:
    mode: str
    rounds: int
    duration: float  # seconds measured per unary/REST run
    warmup: float  # seconds of unmeasured load before each unary run
    watch_rounds: int
    watch_duration: float  # seconds of changes per watch round
    watchers: tuple[int, ...]
    growth_sizes: tuple[int, ...]
    rest_connections: int = 64
    soak_seconds: float = 150.0  # seconds of steady load in the soak section
    # The floor section (bench/floor.py): live conferences of 5 in the big
    # floor, and account-wide watchers (and SSE clients) on one server.
    floor_conferences: int = 1000
    floor_watchers: int = 1000

    def describe(self) -> str:
        return (
            f"mode {self.mode}: {self.rounds} interleaved rounds (baseline then Rollcall) of"
            f" {self.duration:g} s after {self.warmup:g} s warm-up per unary/REST figure;"
            f" {self.watch_rounds} watch round(s) of {self.watch_duration:g} s at 20 changes/s;"
            f" cost growth at {', '.join(f'{s:,}' for s in self.growth_sizes)} stored participants;"
            f" a {self.soak_seconds:g} s soak; a floor of {self.floor_conferences:,}"
            f" conferences and {self.floor_watchers:,} account watchers"
        )


QUICK = Budget(
    mode="quick",
    rounds=3,
    duration=1.0,
    warmup=0.3,
    watch_rounds=1,
    watch_duration=2.0,
    watchers=(1, 100, 1000),
    growth_sizes=(1_000, 100_000),
    soak_seconds=75.0,
    floor_conferences=200,
    floor_watchers=200,
)
DEFAULT = Budget(
    mode="default",
    rounds=3,
    duration=3.0,
    warmup=0.5,
    watch_rounds=3,
    watch_duration=4.0,
    watchers=(1, 100, 1000),
    growth_sizes=(1_000, 100_000),
)
FULL = dataclasses.replace(DEFAULT, mode="full", growth_sizes=(1_000, 100_000, 1_000_000))
