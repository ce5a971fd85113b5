"""Figures, the printed table and the JSON file: what a benchmark run reports.

Rule 1: a Figure is one row: Rollcall's median, the baseline's median, the paired
        ratio, the goal and whether it is met, with every round's raw values.
Rule 2: a goal is judged on the ratio of the run's own numbers, never on an
        absolute figure from another machine; a figure with no goal says
        "reported".
Rule 3: every figure carries the machine's 1-minute load average when its rounds
        ended (`load`), so a figure measured on a busy machine can be told apart
        (bench/README.md says how to read it).
Rule 4: values are formatted in their units into a fixed-width table, and the run is
        written as a JSON document to bench/results/latest.json (plus a timestamped
        copy).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.stats import median, paired_ratio


@dataclasses.dataclass(frozen=True)
class Goal:
    """`ratio >= value`, `ratio <= value`, `rollcall == 0` (kind "zero"), `rollcall <
    value` (kind "under", an absolute goal in the figure's unit) or none."""

    kind: str = "none"
    value: float = 0.0

    def describe(self) -> str:
        if self.kind == ">=":
            return f">= {self.value:g}x"
        if self.kind == "<=":
            return f"<= {self.value:g}x"
        if self.kind == "zero":
            return "0"
        if self.kind == "under":
            return f"< {self.value:g}"
        return "reported"

    def met(self, rollcall: float | None, ratio: float | None) -> bool | None:
        if self.kind == "zero":
            return None if rollcall is None else rollcall == 0
        if self.kind == "under":
            return None if rollcall is None else rollcall < self.value
        if self.kind == "none" or ratio is None:
            return None
        return ratio >= self.value if self.kind == ">=" else ratio <= self.value


REPORTED = Goal()


@dataclasses.dataclass
class Figure:
    section: str
    name: str
    unit: str
    baseline_label: str
    rollcall_rounds: Sequence[float | None]
    baseline_rounds: Sequence[float | None]
    goal: Goal = dataclasses.field(default_factory=Goal)
    note: str = ""
    # How to combine rounds: "median" (default) or "sum" (event counts).
    combine: str = "median"
    # The machine's 1-minute load average when the figure's rounds ended.
    load: float = dataclasses.field(default_factory=lambda: round(os.getloadavg()[0], 2))

    @property
    def rollcall(self) -> float | None:
        return self._combine(self.rollcall_rounds)

    @property
    def baseline(self) -> float | None:
        return self._combine(self.baseline_rounds)

    def _combine(self, values: Sequence[float | None]) -> float | None:
        if self.combine == "sum":
            present = [v for v in values if v is not None]
            return sum(present) if present else None
        return median(values)

    @property
    def ratio(self) -> float | None:
        if self.combine == "sum" or not self.baseline_rounds:
            return None
        return paired_ratio(self.rollcall_rounds, self.baseline_rounds)

    @property
    def met(self) -> bool | None:
        return self.goal.met(self.rollcall, self.ratio)

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "figure": self.name,
            "unit": self.unit,
            "rollcall": self.rollcall,
            "baseline": self.baseline,
            "baseline_is": self.baseline_label,
            "ratio": self.ratio,
            "goal": self.goal.describe(),
            "met": self.met,
            "rollcall_rounds": list(self.rollcall_rounds),
            "baseline_rounds": list(self.baseline_rounds),
            "note": self.note,
            "load": self.load,
        }


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "req/s":
        return f"{value:,.0f}/s"
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "bytes":
        for scale, suffix in ((1 << 20, "MiB"), (1 << 10, "KiB")):
            if abs(value) >= scale:
                return f"{value / scale:,.1f} {suffix}"
        return f"{value:,.0f} B"
    if unit == "events":
        return f"{value:,.0f}"
    return f"{value:,.3g} {unit}"


def _met(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def table(figures: Sequence[Figure]) -> str:
    header = ("Figure", "Rollcall", "Baseline", "Ratio", "Goal", "Met")
    rows: list[tuple[str, ...]] = []
    section = None
    for f in figures:
        if f.section != section:
            section = f.section
            rows.append((f"[{section}]", "", "", "", "", ""))
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}x"
        rows.append(
            (
                "  " + f.name,
                fmt(f.rollcall, f.unit),
                fmt(f.baseline, f.unit),
                ratio,
                f.goal.describe(),
                _met(f.met),
            )
        )
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def baselines_legend(figures: Sequence[Figure]) -> list[str]:
    seen: dict[str, None] = {}
    for f in figures:
        if f.baseline_label != "-":
            seen.setdefault(f"{f.section}: baseline = {f.baseline_label}", None)
    return list(seen)


def write_json(
    results_dir: Path, figures: Sequence[Figure], context: dict[str, Any]
) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    document = {**context, "figures": [f.as_json() for f in figures]}
    text = json.dumps(document, indent=2)
    latest = results_dir / "latest.json"
    stamped = results_dir / time.strftime("run-%Y%m%d-%H%M%S.json")
    latest.write_text(text)
    stamped.write_text(text)
    return latest, stamped
