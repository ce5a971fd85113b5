"""End to end: a full disk and a database deleted under a running server.

The disk is a real tmpfs of a few megabytes mounted by the test (we run as
root; without the privilege the test is skipped and says why), filled with a
real file until the kernel answers ENOSPC. The deleted database is a real
directory removed while the server runs. Clients are real: gRPC over TCP and
HTTP over TCP to the REST gateway. Time moves only by the manual clock.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rollcall.v1 import participant_pb2 as ppb
from service.app import CALLBACK_SERVICE_NAME, SERVICE_NAME
from service.carriers.simulated.adapter import SimulatedCarrier
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Harness,
    basic,
    make_settings,
    serving,
    started,
)
from tests.e2e.helpers import create, expect_error, fetch, until_status

RINGING = ppb.PARTICIPANT_STATUS_RINGING
CONNECTED = ppb.PARTICIPANT_STATUS_CONNECTED
CALLS = 5
ATTEMPTS = 60  # writes tried on the full disk before the test gives up on seeing one fail


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs, mounted for this test only."""
    mount = tmp_path / "fs"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        pytest.skip("cannot mount a small tmpfs for a full disk: no mount(8) here")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for a full disk: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem is full; return it."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        for _ in range(10_000):  # far more than 4 MB
            try:
                out.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
        else:
            raise AssertionError("the filesystem never filled up")
    small = b"\0" * 512
    with filler.open("ab", buffering=0) as out, contextlib.suppress(OSError):
        for _ in range(256):  # the last partial block
            out.write(small)
    return filler


async def rest_create(session: aiohttp.ClientSession, h: Harness) -> aiohttp.ClientResponse:
    url = f"{h.http_base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/room/Participants.json"
    async with session.post(
        url,
        data={"From": "+15005550006", "To": "+15551230000"},
        headers={"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)},
    ) as response:
        await response.read()
        return response


async def test_disk_full_is_typed_keeps_reads_and_recovers_with_every_call_progressing(
    small_fs: Path,
) -> None:
    settings = make_settings(
        small_fs, database=str(small_fs / "rollcall.sqlite3"), sim_ring_seconds=5.0
    )
    async with serving(settings) as h:
        sids = [(await create(h)).participant.call_sid for _ in range(CALLS)]
        await h.advance(0)
        assert [(await fetch(h, "room", sid)).status for sid in sids] == [RINGING] * CALLS

        filler = fill(small_fs)

        # gRPC: a write that needs space answers RESOURCE_EXHAUSTED STORAGE_FULL.
        for _ in range(ATTEMPTS):
            try:
                await create(h)
            except grpc.aio.AioRpcError as exc:
                error = await expect_error(_raise(exc), grpc.StatusCode.RESOURCE_EXHAUSTED)
                break
        else:
            raise AssertionError("no write failed on a full disk")
        assert error.reason == "STORAGE_FULL"
        assert error.http_status == 503

        # REST: Twilio's error JSON with a 5xx status.
        async with aiohttp.ClientSession() as session:
            for _ in range(ATTEMPTS):
                response = await rest_create(session, h)
                if response.status != 201:
                    break
            else:
                raise AssertionError("no REST write failed on a full disk")
            assert response.status == 503
            body = await response.json()
            assert body["code"] == 20503
            assert body["status"] == 503
            assert set(body) == {"code", "message", "more_info", "status"}

        # Reads keep working.
        assert [(await fetch(h, "room", sid)).call_sid for sid in sids] == sids

        # The calls are answered while the disk is full: progress that cannot be
        # stored waits for its retry instead of being forgotten.
        await h.advance(5)
        statuses = [(await fetch(h, "room", sid)).status for sid in sids]
        assert RINGING in statuses
        assert isinstance(h.app.carrier, SimulatedCarrier)
        assert h.app.carrier.retrying() >= 1

        # Space returns: writes work again and every call moves on by itself.
        filler.unlink()
        await h.advance(30)

        await until_status(h.stub, h.parent("room"), h.md(), sids, CONNECTED)
        assert h.app.carrier.retrying() == 0
        await create(h)


async def _raise(exc: BaseException) -> None:
    raise exc


async def until_not_serving(h: Harness) -> None:
    """Wait on each service's health Watch stream until it says NOT_SERVING."""
    stub = health_pb2_grpc.HealthStub(h.channel)
    for name in ("", SERVICE_NAME, CALLBACK_SERVICE_NAME):
        stream = stub.Watch(health_pb2.HealthCheckRequest(service=name))
        try:
            while (await stream.read()).status != health_pb2.HealthCheckResponse.NOT_SERVING:
                pass
        finally:
            stream.cancel()


async def health_of(h: Harness) -> list[int]:
    stub = health_pb2_grpc.HealthStub(h.channel)
    return [
        (await stub.Check(health_pb2.HealthCheckRequest(service=name))).status
        for name in ("", SERVICE_NAME, CALLBACK_SERVICE_NAME)
    ]


async def test_database_removed_under_the_server_turns_health_off_and_refuses_writes(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    async with started(
        tmp_path, database=str(folder / "rollcall.sqlite3"), database_check_seconds=5.0
    ) as h:
        first = (await create(h)).participant.call_sid
        assert await health_of(h) == [health_pb2.HealthCheckResponse.SERVING] * 3

        shutil.rmtree(folder)
        await h.advance(10)  # two probes (health_failure_threshold), with no write in between

        await until_not_serving(h)
        error = await expect_error(create(h), grpc.StatusCode.UNAVAILABLE)
        assert error.reason == "DATABASE_GONE"

        # A new, empty database at the same path is not the one this process holds.
        folder.mkdir()
        (folder / "rollcall.sqlite3").write_bytes(b"")
        error = await expect_error(create(h), grpc.StatusCode.UNAVAILABLE)
        assert error.reason == "DATABASE_GONE"
        assert (folder / "rollcall.sqlite3").read_bytes() == b""
        assert (await fetch(h, "room", first)).call_sid == first


async def test_database_replaced_is_noticed_by_the_next_write(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "rollcall.sqlite3"
    async with started(tmp_path, database=str(path), database_check_seconds=3600.0) as h:
        await create(h)
        shutil.copy(path, folder / "copy.sqlite3")
        os.replace(folder / "copy.sqlite3", path)
        error = await expect_error(create(h), grpc.StatusCode.UNAVAILABLE)
        assert error.reason == "DATABASE_GONE"
        assert error.http_status == 503

        await until_not_serving(h)
