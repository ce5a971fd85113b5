"""Helpers for the fault tests: storms of callers with short deadlines, and
waiting (on conditions, bounded) for committed participants to progress."""

from __future__ import annotations

import asyncio
import collections
import random

import aiohttp
import grpc

from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.gateway.status import from_rpc_error
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic

MD = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)
QUEUED = participant_pb2.PARTICIPANT_STATUS_QUEUED


def parent(conference: str) -> str:
    return f"accounts/{ACCOUNT_SID}/conferences/{conference}"


def create_request(conference: str, request_id: str, n: int) -> pb.CreateParticipantRequest:
    return pb.CreateParticipantRequest(
        parent=parent(conference),
        from_endpoint="+15005550006",
        to_endpoint=f"+1555{n:07d}",
        request_id=request_id,
    )


async def storm(
    stub: pb_grpc.ParticipantServiceStub,
    rng: random.Random,
    *,
    callers: int,
    conferences: list[str],
    updatable: list[str],
    tag: str,
    min_deadline: float = 0.005,
    max_deadline: float = 0.2,
    cancel_share: float = 0.0,
) -> tuple[collections.Counter[str], list[pb.CreateParticipantRequest]]:
    """`callers` concurrent Creates and Updates, each with a random short
    deadline (some cancelled by the client instead). Returns the status codes
    seen and every Create sent (to retry by request_id)."""
    codes: collections.Counter[str] = collections.Counter()
    creates: list[pb.CreateParticipantRequest] = []

    async def one(n: int) -> None:
        timeout = rng.uniform(min_deadline, max_deadline)
        if updatable and rng.random() < 0.3:
            call = stub.UpdateParticipant(
                pb.UpdateParticipantRequest(name=rng.choice(updatable), muted=rng.random() < 0.5),
                metadata=MD,
                timeout=timeout if rng.random() >= cancel_share else None,
            )
        else:
            request = create_request(rng.choice(conferences), f"{tag}-{n}", n)
            creates.append(request)
            call = stub.CreateParticipant(request, metadata=MD, timeout=timeout)
        cancel_after = rng.uniform(0, max_deadline) if rng.random() < cancel_share else None
        try:
            if cancel_after is None:
                await call
            else:
                done, _ = await asyncio.wait({asyncio.ensure_future(call)}, timeout=cancel_after)
                if not done:
                    call.cancel()
                await call
            codes["OK"] += 1
        except asyncio.CancelledError:
            codes["CANCELLED_BY_CLIENT"] += 1
        except grpc.aio.AioRpcError as exc:
            codes[exc.code().name] += 1

    await asyncio.gather(*(one(n) for n in range(callers)))
    return codes, creates


async def await_progress(
    stub: pb_grpc.ParticipantServiceStub, names: list[str], *, within: float = 20.0
) -> None:
    """Wait until none of these participants is `queued` (bounded)."""
    pending = list(names)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while pending:
        still = []
        for name in pending:
            found = await stub.FetchParticipant(
                pb.FetchParticipantRequest(name=name, include_ended=True), metadata=MD, timeout=30
            )
            if found.participant.status == QUEUED:
                still.append(name)
        pending = still
        assert loop.time() < give_up, f"{len(pending)} participants stuck queued: {pending[:3]}"
        if pending:
            await asyncio.sleep(0.05)  # polling a condition, not ordering events


async def metric(port: int, name: str, labels: str = "") -> float:
    """One sample from the server's /metrics (0 when absent)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and labels in line and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def reason(exc: grpc.aio.AioRpcError) -> str:
    return from_rpc_error(exc).reason


async def await_none_queued(
    stub: pb_grpc.ParticipantServiceStub, conferences: list[str], *, within: float = 60.0
) -> int:
    """Wait until no participant of these conferences is `queued` (bounded);
    returns how many participants they hold."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while True:
        total = queued = 0
        for conference in conferences:
            token = ""
            while True:
                page = await stub.ListParticipants(
                    pb.ListParticipantsRequest(
                        parent=parent(conference),
                        include_ended=True,
                        page_size=1000,
                        page_token=token,
                    ),
                    metadata=MD,
                    timeout=30,
                )
                total += len(page.participants)
                queued += sum(1 for p in page.participants if p.status == QUEUED)
                token = page.next_page_token
                if not token:
                    break
        if not queued:
            return total
        assert loop.time() < give_up, f"{queued} of {total} participants stuck queued"
        await asyncio.sleep(0.05)  # polling a condition, not ordering events
