"""Helpers the PostgreSQL tests share: two replicas on one database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests import pg
from tests.conftest import Harness, make_settings, serving


@contextlib.asynccontextmanager
async def replicas(tmp_path: Path, **settings: Any) -> AsyncIterator[tuple[Harness, Harness]]:
    dsn = pg.database_for(str(tmp_path))
    common = {"database": dsn, "http_listen": "", "replica_heartbeat_seconds": 0.2, **settings}
    async with (
        serving(make_settings(tmp_path, replica_id="a", **common)) as a,
        serving(make_settings(tmp_path, replica_id="b", **common)) as b,
    ):
        yield a, b
