"""The baselines: bare servers in the same frameworks, answering same-sized messages from memory.

What it owns, each run as its own process (`python -m bench.baselines grpc|http
SAMPLES`), with uvloop installed like `rollcall serve`:

* grpc: a bare grpc.aio server for ParticipantService with no interceptor, no
  auth and no store. Unary methods parse the request and answer the sample
  response Rollcall gave for the same call (Fetch, Create, List page of 50,
  Update). UpdateParticipant also stamps a copy of Rollcall's sample watch event
  with the next revision and the current time.time() and fans it out to every
  WatchConference stream through per-stream asyncio queues: the bare stream
  fan-out that WatchConference is compared with.
* http: a bare aiohttp application on Twilio's two Participant URIs. POST parses
  the form (as the gateway does) and returns Rollcall's sample Create JSON with
  201; GET returns the sample Fetch JSON.

The rule it keeps: a baseline does the framework's work and nothing else, so
a ratio against it is the cost of Rollcall's own code.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import signal
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import grpc
from aiohttp import web

from bench.proc import PYTHON, ServerProcess
from rollcall.v1 import participant_service_pb2 as pb

SERVICE_NAME = "rollcall.v1.ParticipantService"


class BareParticipantService:
    def __init__(self, samples: dict[str, bytes]) -> None:
        self.fetch = pb.FetchParticipantResponse.FromString(samples["fetch"])
        self.create = pb.CreateParticipantResponse.FromString(samples["create"])
        self.list = pb.ListParticipantsResponse.FromString(samples["list"])
        self.update = pb.UpdateParticipantResponse.FromString(samples["update"])
        self.event = pb.WatchConferenceResponse.FromString(samples["watch_event"])
        self.revision = 0
        self.streams: set[asyncio.Queue[pb.WatchConferenceResponse]] = set()

    async def FetchParticipant(
        self, request: pb.FetchParticipantRequest, context: grpc.aio.ServicerContext
    ) -> pb.FetchParticipantResponse:
        return self.fetch

    async def CreateParticipant(
        self, request: pb.CreateParticipantRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateParticipantResponse:
        return self.create

    async def ListParticipants(
        self, request: pb.ListParticipantsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListParticipantsResponse:
        return self.list

    async def UpdateParticipant(
        self, request: pb.UpdateParticipantRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateParticipantResponse:
        self.revision += 1
        message = pb.WatchConferenceResponse()
        message.CopyFrom(self.event)
        message.event.revision = self.revision
        message.event.time.FromNanoseconds(time.time_ns())
        for queue in self.streams:
            queue.put_nowait(message)
        response = pb.UpdateParticipantResponse()
        response.CopyFrom(self.update)
        response.participant.revision = self.revision
        return response

    async def WatchConference(
        self, request: pb.WatchConferenceRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchConferenceResponse]:
        queue: asyncio.Queue[pb.WatchConferenceResponse] = asyncio.Queue()
        self.streams.add(queue)
        try:
            yield pb.WatchConferenceResponse(
                initial_state_complete=pb.InitialStateComplete(revision=self.revision)
            )
            while True:
                yield await queue.get()
        finally:
            self.streams.discard(queue)

    def handler(self) -> grpc.GenericRpcHandler:
        def unary(method: Any, request: type[Any], response: type[Any]) -> Any:
            return grpc.unary_unary_rpc_method_handler(
                method,
                request_deserializer=request.FromString,
                response_serializer=response.SerializeToString,
            )

        return grpc.method_handlers_generic_handler(
            SERVICE_NAME,
            {
                "FetchParticipant": unary(
                    self.FetchParticipant, pb.FetchParticipantRequest, pb.FetchParticipantResponse
                ),
                "CreateParticipant": unary(
                    self.CreateParticipant,
                    pb.CreateParticipantRequest,
                    pb.CreateParticipantResponse,
                ),
                "ListParticipants": unary(
                    self.ListParticipants, pb.ListParticipantsRequest, pb.ListParticipantsResponse
                ),
                "UpdateParticipant": unary(
                    self.UpdateParticipant,
                    pb.UpdateParticipantRequest,
                    pb.UpdateParticipantResponse,
                ),
                "WatchConference": grpc.unary_stream_rpc_method_handler(
                    self.WatchConference,
                    request_deserializer=pb.WatchConferenceRequest.FromString,
                    response_serializer=pb.WatchConferenceResponse.SerializeToString,
                ),
            },
        )


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve_grpc(samples: dict[str, bytes]) -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((BareParticipantService(samples).handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"baseline grpc on port {port}", flush=True)
    await _until_signalled()
    await server.stop(0.5)


def bare_http_app(rest: dict[str, Any]) -> web.Application:
    created = json.dumps(rest["create"])
    fetched = json.dumps(rest["fetch"])

    async def create(request: web.Request) -> web.Response:
        form = await request.post()
        if "To" not in form:
            return web.json_response({"code": 21604, "status": 400}, status=400)
        return web.Response(text=created, status=201, content_type="application/json")

    async def fetch(request: web.Request) -> web.Response:
        return web.Response(text=fetched, content_type="application/json")

    prefix = "/2010-04-01/Accounts/{account}/Conferences/{conference}"
    app = web.Application()
    app.router.add_post(prefix + "/Participants.json", create)
    app.router.add_get(prefix + "/Participants/{participant}.json", fetch)
    return app


async def serve_http(rest: dict[str, Any]) -> None:
    runner = web.AppRunner(bare_http_app(rest))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"baseline http on port {port}", flush=True)
    await _until_signalled()
    await runner.cleanup()


def start_baseline(
    kind: str, samples: Path, *, cpus: Sequence[int], run_dir: Path
) -> ServerProcess:
    """A baseline server of `kind` ("grpc" or "http") in its own pinned process."""
    return ServerProcess(
        f"baseline-{kind}",
        [PYTHON, "-m", "bench.baselines", kind, str(samples)],
        re.compile(r"port (\d+)"),
        cpus=cpus,
        log_path=run_dir / f"baseline-{kind}.log",
    ).start()


def load_samples(path: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    data = json.loads(path.read_text())
    grpc_samples = {k: base64.b64decode(v) for k, v in data["grpc"].items()}
    return grpc_samples, data["rest"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["grpc", "http"])
    parser.add_argument("samples", type=Path)
    args = parser.parse_args()
    grpc_samples, rest = load_samples(args.samples)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    if args.kind == "grpc":
        asyncio.run(serve_grpc(grpc_samples))
    else:
        asyncio.run(serve_http(rest))


if __name__ == "__main__":
    main()
