"""What the observability tests share: a live /metrics, and promtool.

promtool comes with Debian's prometheus package (scripts/setup --with-tools);
without it these tests fail, unless ROLLCALL_TEST_PROMTOOL=skip says to skip them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import aiohttp
import pytest

_FAMILY = re.compile(r"^# TYPE (\S+) (\S+)$", re.MULTILINE)
_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count", ""),
}


async def live_metrics(port: int | None) -> str:
    assert port, "the server serves no /metrics"
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        assert response.status == 200
        return await response.text()


def exported_names(text: str) -> set[str]:
    """Every series name /metrics can show, samples or not: each family declared
    (`# TYPE`), with its type's suffixes."""
    names: set[str] = set()
    for family, kind in _FAMILY.findall(text):
        names.add(family)
        names.update(family + suffix for suffix in _SUFFIXES.get(kind, ()))
    return names


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        message = "promtool missing: run scripts/setup --with-tools (Debian's prometheus)"
        if os.environ.get("ROLLCALL_TEST_PROMTOOL") == "skip":
            pytest.skip(f"ROLLCALL_TEST_PROMTOOL=skip: {message}")
        pytest.fail(message)
    return subprocess.run(
        [tool, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
