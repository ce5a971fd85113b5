"""Shared fixtures: a real Rollcall server on ephemeral ports with a manual clock.

The server runs in the test's own event loop (so the ManualClock drives call
progress without sleeping) but is reached only through real sockets: gRPC
over TCP and, for the REST gateway, HTTP over TCP.

The markers (`./scripts/test --fast` runs what carries neither):

Rule 1: `postgres` is on every test that needs the throwaway PostgreSQL server
        (tests/pg.py), put there by `pytest_collection_modifyitems` below for
        every test in tests/postgres/, every test parametrised with the value
        "postgres" (the contract tests' `backend` and `replicated_backend`, and
        the like), and every test of a ROLLCALL_TEST_STORE=postgres run; by
        hand (`@pytest.mark.postgres`) on any other. A test that reaches the
        server without the marker fails (tests/pg.py, `server`).
Rule 2: `slow` is on every test that takes more than about a second, and
        on the documents' runnable examples (a process each, together a
        fifth of the rest); a module-level `pytestmark = pytest.mark.slow`
        where all of a module is. Measure with
        `.venv/bin/pytest -q -p no:randomly --durations=0`.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import grpc
import pytest

from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.app import App
from service.clock import ManualClock
from service.config import Settings
from service.core import actors
from tests import pg

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "token-" + "1" * 26
OTHER_SID = "AC" + "b" * 32
OTHER_TOKEN = "token-" + "2" * 26
KEY_SID = "SK" + "c" * 32
KEY_SECRET = "secret-" + "3" * 25

for _var in ("TWILIO_REGION", "TWILIO_EDGE"):
    os.environ.pop(_var, None)


_POSTGRES_DIR = Path(__file__).resolve().parent / "postgres"


def _needs_postgres(item: pytest.Item) -> bool:
    if pg.test_store() == "postgres" or _POSTGRES_DIR in item.path.parents:
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgres" in callspec.params.values()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("postgres") is None and _needs_postgres(item):
            item.add_marker(pytest.mark.postgres)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    pg.marked = item.get_closest_marker("postgres") is not None
    try:
        return (yield)
    finally:
        pg.marked = None


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclasses.dataclass
class Harness:
    app: App
    clock: ManualClock
    channel: grpc.aio.Channel
    stub: pb_grpc.ParticipantServiceStub
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.app.grpc_port}"

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.app.http_port}"

    def md(self, user: str = ACCOUNT_SID, password: str = AUTH_TOKEN) -> tuple[tuple[str, str]]:
        return (("authorization", basic(user, password)),)

    def parent(self, conference: str, account: str = ACCOUNT_SID) -> str:
        return f"accounts/{account}/conferences/{conference}"

    def name(self, conference: str, participant: str, account: str = ACCOUNT_SID) -> str:
        return f"{self.parent(conference, account)}/participants/{participant}"

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(seconds)


def server_database(path: Path) -> str:
    """The database a test server uses: the SQLite file at path, or, when
    ROLLCALL_TEST_STORE=postgres, a PostgreSQL database named after it."""
    if pg.test_store() == "postgres":
        return pg.database_for(str(path))
    return str(path)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "grpc_listen": "127.0.0.1:0",
        "http_listen": "127.0.0.1:0",
        "metrics_listen": "127.0.0.1:0",
        "database": server_database(tmp_path / "rollcall.sqlite3"),
        "accounts": f"{ACCOUNT_SID}:{AUTH_TOKEN},{OTHER_SID}:{OTHER_TOKEN}",
        "api_keys": f"{KEY_SID}:{KEY_SECRET}:{ACCOUNT_SID}",
        "sim_ring_seconds": 2.0,
        "sim_calls_per_second": 0.0,
        "grace_seconds": 1.0,
        # The store probes run on the manual clock: a test that moves it by a
        # day would probe 86,400 times. Health tests turn them on.
        "database_check_seconds": 0.0,
        # Likewise the retention pass (every kind's window, once a minute of
        # the manual clock): the tests of retention turn it on.
        "retention_interval_seconds": 0.0,
        # The server shares the test's event loop and, in CI, two cores with
        # another pytest run: a loaded moment must not shed a test's call as
        # OVERLOADED. The overload tests run their own server processes.
        "max_wait_seconds": 30.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(autouse=True)
def _acting_as_nobody() -> Generator[None]:
    """Authenticating says who acts for the rest of the task, and a sync test's
    task is the whole session's: each test starts, and leaves, with no actor."""
    with actors.as_actor(actors.ROLLCALL):
        yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Harness]:
    """A real server with these settings, its manual clock and a channel to it."""
    clock = ManualClock()
    app = App(settings, clock=clock)
    await app.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}")
    try:
        yield Harness(app, clock, channel, pb_grpc.ParticipantServiceStub(channel))
    finally:
        await channel.close()
        await app.stop(grace=0.5)


def started(tmp_path: Path, **overrides: Any) -> contextlib.AbstractAsyncContextManager[Harness]:
    """A server with non-default settings and no REST gateway."""
    return serving(make_settings(tmp_path, http_listen="", **overrides))


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    async with serving(settings) as h:
        yield h
