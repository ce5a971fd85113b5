"""The Python client works without the server package: importing it loads no
`service` module (a user can install and use the client alone)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
import {module}
loaded = sorted(m for m in sys.modules if m == "service" or m.startswith("service."))
print(",".join(loaded))
"""


@pytest.mark.parametrize(
    "module",
    ["clients", "clients.client", "clients.watch", "clients.sync", "clients.errors"],
)
def test_importing_the_client_loads_no_server_module(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "", f"{module} pulled in: {done.stdout.strip()}"
