"""Keepalive on both sides (service.rpc.options, clients.client): the grpc
options each side sets, the defaults agreeing (the client's pings are never
too many for the server, whatever the client sends meanwhile), bad values
refused, and the progress-interval metadata both sides name the same."""

from __future__ import annotations

import math
from typing import Any

import pytest

from clients import watch as client_watch
from clients.client import (
    DEFAULT_KEEPALIVE_SECONDS,
    DEFAULT_KEEPALIVE_TIMEOUT_SECONDS,
    AsyncRollcallClient,
    channel_options,
)
from service.config import Settings
from service.rpc import watch as server_watch
from service.rpc.options import server_options

KEEPALIVE_KEYS = (
    "grpc.keepalive_time_ms",
    "grpc.keepalive_timeout_ms",
    "grpc.http2.ping_timeout_ms",
    "grpc.keepalive_permit_without_calls",
    "grpc.http2.max_pings_without_data",
    "grpc.http2.min_ping_interval_without_data_ms",
)


def keepalive(options: object) -> dict[str, int]:
    assert isinstance(options, list | tuple)
    return {key: value for key, value in options if key in KEEPALIVE_KEYS}


def test_the_server_pings_every_connection_and_accepts_pings_down_to_its_floor() -> None:
    assert keepalive(server_options(Settings())) == {
        "grpc.keepalive_time_ms": 30_000,
        "grpc.keepalive_timeout_ms": 10_000,
        "grpc.http2.ping_timeout_ms": 10_000,
        "grpc.keepalive_permit_without_calls": 1,
        "grpc.http2.max_pings_without_data": 0,
        "grpc.http2.min_ping_interval_without_data_ms": 10_000,
    }
    tuned = Settings(
        grpc_keepalive_seconds=1.5,
        grpc_keepalive_timeout_seconds=0.25,
        grpc_keepalive_min_client_seconds=0,
    )
    assert keepalive(server_options(tuned)) == {
        "grpc.keepalive_time_ms": 1_500,
        "grpc.keepalive_timeout_ms": 250,
        "grpc.http2.ping_timeout_ms": 250,
        "grpc.keepalive_permit_without_calls": 1,
        "grpc.http2.max_pings_without_data": 0,
        "grpc.http2.min_ping_interval_without_data_ms": 0,
    }
    never = keepalive(server_options(Settings(grpc_keepalive_seconds=0)))
    assert never["grpc.keepalive_time_ms"] == 2**31 - 1


def test_the_client_pings_only_while_a_call_is_open() -> None:
    assert keepalive(channel_options(20, 10)) == {
        "grpc.keepalive_time_ms": 20_000,
        "grpc.keepalive_timeout_ms": 10_000,
        "grpc.http2.ping_timeout_ms": 10_000,
        "grpc.keepalive_permit_without_calls": 0,
        "grpc.http2.max_pings_without_data": 0,
    }
    assert keepalive(channel_options(0, 10)) == {}  # no pings at all
    assert dict(channel_options(0, 10))["grpc.max_reconnect_backoff_ms"] == 5000


def test_the_default_client_never_pings_more_often_than_the_default_server_accepts() -> None:
    server = Settings()
    client = dict(channel_options(DEFAULT_KEEPALIVE_SECONDS, DEFAULT_KEEPALIVE_TIMEOUT_SECONDS))
    floor = dict(server_options(server))["grpc.http2.min_ping_interval_without_data_ms"]
    # grpc counts a ping sooner than the floor as a strike, data or not; twice
    # the floor leaves room for timer jitter.
    assert client["grpc.keepalive_time_ms"] >= 2 * floor
    # A dead link is found (keepalive, then its timeout) within about the time
    # the client's watch takes silence for death: 3 default progress intervals.
    found_in = DEFAULT_KEEPALIVE_SECONDS + DEFAULT_KEEPALIVE_TIMEOUT_SECONDS
    assert found_in <= client_watch.IDLE_INTERVALS * server.watch_progress_seconds


def test_both_sides_agree_on_the_progress_interval() -> None:
    assert client_watch.PROGRESS_INTERVAL_KEY == server_watch.PROGRESS_INTERVAL_KEY
    assert Settings().watch_progress_seconds == client_watch.DEFAULT_PROGRESS_SECONDS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("grpc_keepalive_seconds", -1.0),
        ("grpc_keepalive_seconds", math.nan),
        ("grpc_keepalive_seconds", math.inf),
        ("grpc_keepalive_timeout_seconds", 0.0),
        ("grpc_keepalive_timeout_seconds", -2.0),
        ("grpc_keepalive_min_client_seconds", -0.5),
    ],
)
def test_bad_server_keepalive_values_are_refused(field: str, value: float) -> None:
    settings: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=field.upper()):
        server_options(Settings(**settings))


@pytest.mark.parametrize(
    "options",
    [
        {"keepalive": -1.0},
        {"keepalive": math.nan},
        {"keepalive_timeout": 0.0},
        {"keepalive_timeout": math.inf},
    ],
)
def test_bad_client_keepalive_values_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="keepalive"):
        AsyncRollcallClient("127.0.0.1:1", "AC" + "a" * 32, "token", **options)


async def test_a_watch_refuses_a_bad_idle_timeout() -> None:
    async with AsyncRollcallClient("127.0.0.1:1", "AC" + "a" * 32, "token") as client:
        for bad in (0.0, -1.0, math.nan):
            with pytest.raises(ValueError, match="idle_timeout"):
                client.watch("CF" + "b" * 32, idle_timeout=bad)
