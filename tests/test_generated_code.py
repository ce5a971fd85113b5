"""The committed rollcall/v1 code is exactly what scripts/gen-protos makes now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    subprocess.run(
        [str(ROOT / "scripts" / "gen-protos"), str(tmp_path)],
        check=True,
        capture_output=True,
        env={"PYTHON": sys.executable, "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"},
    )
    fresh = sorted(
        p.relative_to(tmp_path) for p in (tmp_path / "rollcall").rglob("*") if p.is_file()
    )
    committed = sorted(
        p.relative_to(ROOT)
        for p in (ROOT / "rollcall").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert fresh == committed
    for rel in fresh:
        assert (tmp_path / rel).read_bytes() == (ROOT / rel).read_bytes(), f"{rel} is stale"
