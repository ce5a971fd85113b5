"""The machine's load over a run (bench.proc.MachineLoad)."""

from __future__ import annotations

from bench.proc import MachineLoad


def test_the_load_is_summarised_from_its_samples() -> None:
    meter = MachineLoad(every=3600).start()
    summary = meter.stop()
    samples = summary["samples"]
    assert isinstance(samples, list) and len(samples) == 2
    assert summary["loadavg_1m_min"] == min(samples)
    assert summary["loadavg_1m_max"] == max(samples)
