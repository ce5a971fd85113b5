"""End to end: gRPC connection age (grpc_max_connection_age_seconds).

An aged connection is closed by the server (GOAWAY, then cut after the grace),
a watch stream on it ends with UNAVAILABLE, and the client's watch resumes by
revision on a new connection with nothing lost or repeated: what lets long
watch streams spread over replicas added after they started. Bad values stop
the server from starting.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from clients.watch_items import InitialStateComplete, Reconnected
from service.app import App
from service.config import Settings
from service.rpc.options import server_options
from tests.conftest import make_settings, started
from tests.e2e.client_watch import Collector, client_for, connected_pair, event_revisions


def reconnects(items: object) -> list[Reconnected]:
    assert isinstance(items, list)
    return [item for item in items if isinstance(item, Reconnected)]


@pytest.mark.slow
async def test_watch_on_an_aged_connection_resumes_by_revision(tmp_path: Path) -> None:
    async with (
        started(
            tmp_path,
            grpc_max_connection_age_seconds=0.2,
            grpc_max_connection_age_grace_seconds=0.5,
        ) as h,
        client_for(h.grpc_target) as rollcall,
    ):
        conference = await connected_pair(rollcall, h.advance)
        watch = Collector(rollcall.watch(conference, max_backoff=0.05))
        await watch.until(lambda items: any(isinstance(i, InitialStateComplete) for i in items))
        snapshot = next(i for i in watch.items if isinstance(i, InitialStateComplete))

        # A writer keeps changing the conference while connections age and are
        # cut; every change reaches the watcher once, in order, across them.
        last = snapshot.revision
        for change in range(1, 3001):
            if len(reconnects(watch.items)) >= 2:
                break
            updated = await rollcall.update_participant(conference, "agent", muted=change % 2 == 1)
            last = updated.revision
            await watch.until_revision(last)
        await watch.stop()

    assert len(reconnects(watch.items)) >= 2
    assert all(r.kind == "resumed" for r in reconnects(watch.items))
    assert {r.error.code for r in reconnects(watch.items)} == {"UNAVAILABLE"}
    assert event_revisions(watch.items) == list(range(snapshot.revision + 1, last + 1))


def test_options_are_grpc_milliseconds_and_absent_by_default() -> None:
    def age_options(settings: Settings) -> dict[str, int]:
        return {k: v for k, v in server_options(settings) if "connection_age" in k}

    assert age_options(Settings()) == {}
    assert age_options(
        Settings(grpc_max_connection_age_seconds=300, grpc_max_connection_age_grace_seconds=30)
    ) == {"grpc.max_connection_age_ms": 300_000, "grpc.max_connection_age_grace_ms": 30_000}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("grpc_max_connection_age_seconds", -1.0),
        ("grpc_max_connection_age_seconds", math.nan),
        ("grpc_max_connection_age_grace_seconds", -0.5),
    ],
)
async def test_bad_connection_age_refuses_to_start(
    tmp_path: Path, field: str, value: float
) -> None:
    app = App(make_settings(tmp_path, **{"grpc_max_connection_age_seconds": 60.0, field: value}))
    with pytest.raises(ValueError, match=field.upper()):
        await app.start()
    await app.stop(grace=0)
    assert app.grpc_port == 0  # refused before any port opened
