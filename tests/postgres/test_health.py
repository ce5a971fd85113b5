"""Health follows PostgreSQL in a real `rollcall serve` process.

The database is stopped while the server runs and started again. With the
default settings, gRPC health (the server and each service) and the REST
gateway's /readyz say NOT_SERVING within a few seconds while every call
answers UNAVAILABLE, and SERVING again on their own once the database is
back; /livez answers throughout, so a liveness probe never restarts the
process for an outage of its database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.app import HEALTH_NAMES
from service.gateway.status import from_rpc_error
from tests import pg
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.e2e.health import NOT_SERVING, SERVING, health, probe, until_health
from tests.e2e.process import ServerProcess
from tests.poll import eventually

MD = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)
CREATE = pb.CreateParticipantRequest(
    parent=f"accounts/{ACCOUNT_SID}/conferences/room",
    from_endpoint="+15005550006",
    to_endpoint="+15551230000",
)


async def _ready(http_port: int) -> bool:
    return (await probe(http_port, "/readyz"))[0] == 200


async def test_health_says_not_serving_while_postgres_is_down_and_serving_once_back(
    tmp_path: Path,
) -> None:
    database = pg.server()
    server = ServerProcess(
        tmp_path / "unused.sqlite3",
        ROLLCALL_DATABASE=pg.database_for(str(tmp_path)),
        ROLLCALL_HTTP_LISTEN="127.0.0.1:0",
    )
    server.log = tmp_path / "server.log"
    server.start()
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            stub = pb_grpc.ParticipantServiceStub(channel)
            await stub.CreateParticipant(CREATE, metadata=MD)
            assert await health(server.target) == [SERVING] * len(HEALTH_NAMES)
            assert await probe(server.http_port, "/readyz") == (200, {"status": "SERVING"})

            await asyncio.to_thread(database.stop, "fast")
            try:
                await until_health(server.target, NOT_SERVING)
                await eventually(
                    lambda: _not_ready(server.http_port), "/readyz says NOT_SERVING", seconds=30
                )
                assert await probe(server.http_port, "/livez") == (200, {"status": "SERVING"})
                try:
                    await stub.CreateParticipant(CREATE, metadata=MD)
                    raise AssertionError("a write was taken while the database was down")
                except grpc.aio.AioRpcError as error:
                    assert error.code() == grpc.StatusCode.UNAVAILABLE
                    assert from_rpc_error(error).reason == "STORE_UNAVAILABLE"
            finally:
                await asyncio.to_thread(database.start)

            await until_health(server.target, SERVING)
            await eventually(lambda: _ready(server.http_port), "/readyz says SERVING", seconds=30)
            await stub.CreateParticipant(CREATE, metadata=MD)
    finally:
        server.close()


async def _not_ready(http_port: int) -> bool:
    return await probe(http_port, "/readyz") == (503, {"status": "NOT_SERVING"})
