"""Health follows the store in a real `rollcall serve` process (SQLite).

The database's directory is moved away while the server runs, then moved
back, as when a volume is unmounted and mounted again. With the default
settings, gRPC health (the server and each service) and the REST gateway's
/readyz say NOT_SERVING within a few seconds and refuse nothing but writes,
then SERVING again on their own once the file is back; /livez answers
throughout, so a liveness probe never restarts the process for it. (The same
on PostgreSQL, with the database stopped: tests/postgres/test_health.py.)
"""

from __future__ import annotations

from pathlib import Path

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.app import HEALTH_NAMES
from service.gateway.status import from_rpc_error
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.e2e.health import NOT_SERVING, SERVING, health, probe, until_health
from tests.e2e.process import ServerProcess
from tests.poll import eventually

MD = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)


def create_request(conference: str) -> pb.CreateParticipantRequest:
    return pb.CreateParticipantRequest(
        parent=f"accounts/{ACCOUNT_SID}/conferences/{conference}",
        from_endpoint="+15005550006",
        to_endpoint="+15551230000",
    )


async def test_sqlite_file_gone_then_back_turns_health_off_then_on_by_itself(
    tmp_path: Path,
) -> None:
    folder, away = tmp_path / "volume", tmp_path / "elsewhere"
    folder.mkdir()
    server = ServerProcess(
        folder / "rollcall.sqlite3",
        ROLLCALL_DATABASE=str(folder / "rollcall.sqlite3"),
        ROLLCALL_HTTP_LISTEN="127.0.0.1:0",
    )
    server.log = tmp_path / "server.log"
    server.start()
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            stub = pb_grpc.ParticipantServiceStub(channel)
            first = (await stub.CreateParticipant(create_request("room"), metadata=MD)).participant
            assert await health(server.target) == [SERVING] * len(HEALTH_NAMES)
            assert await probe(server.http_port, "/readyz") == (200, {"status": "SERVING"})

            folder.rename(away)
            await until_health(server.target, NOT_SERVING)
            assert await probe(server.http_port, "/readyz") == (503, {"status": "NOT_SERVING"})
            assert (await probe(server.http_port, "/livez"))[0] == 200
            try:
                await stub.CreateParticipant(create_request("room"), metadata=MD)
                raise AssertionError("a write was taken while the database was gone")
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE
                assert from_rpc_error(error).reason == "DATABASE_GONE"

            away.rename(folder)
            await until_health(server.target, SERVING)
            await eventually(
                lambda: _ready(server.http_port), "/readyz says SERVING again", seconds=30
            )
            again = (await stub.CreateParticipant(create_request("room"), metadata=MD)).participant
            assert again.conference_sid == first.conference_sid
    finally:
        server.close()


async def _ready(http_port: int) -> bool:
    return (await probe(http_port, "/readyz"))[0] == 200
