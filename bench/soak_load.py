"""The soak's load: paced conference lifecycles, every write timed, and its fixtures.

Rule 1: paced and open-loop: LIFECYCLES_PER_SECOND conference lifecycles, seven
        writes each (two Creates with a request_id, a mute and an unmute, a
        Delete, the conference ended, plus a mute toggle in one of a few
        long-lived busy conferences).
Rule 2: every write's (start, seconds) is kept; a lifecycle whose call fails
        is counted (failures), not fatal.
Rule 3: the fixtures are BUSY_CONFERENCES busy conferences and LIVE_PARTICIPANTS
        live participants, made before the load begins.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

import grpc

from bench import target
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc

LIFECYCLES_PER_SECOND = 15.0
BUSY_CONFERENCES = 4
LIVE_PARTICIPANTS = 200
ACCOUNT = f"accounts/{target.ACCOUNT_SID}"


class Load:
    """Paced conference lifecycles; every write's (start, seconds)."""

    def __init__(self, channel: grpc.aio.Channel, busy_names: Sequence[str]) -> None:
        self.participants = pb_grpc.ParticipantServiceStub(channel)
        self.conferences = cpb_grpc.ConferenceServiceStub(channel)
        self.busy_names = list(busy_names)
        self.writes: list[tuple[float, float]] = []
        self.failures = 0
        self.began = time.monotonic()
        self._count = 0

    async def _timed(self, call: object) -> object:
        start = time.monotonic()
        result = await call  # type: ignore[misc]
        self.writes.append((start - self.began, time.monotonic() - start))
        return result

    async def lifecycle(self, n: int) -> None:
        md = target.METADATA
        parent = f"{ACCOUNT}/conferences/soak-{n}"
        try:
            created = []
            for _ in range(2):
                request = pb.CreateParticipantRequest(
                    parent=parent, from_endpoint=target.FROM, to_endpoint=target.ANSWER_AT_ONCE,
                    request_id=uuid.uuid4().hex,
                )  # fmt: skip
                response = await self._timed(
                    self.participants.CreateParticipant(request, metadata=md, timeout=30)
                )
                created.append(response.participant)  # type: ignore[attr-defined]
            first, second = created
            for muted in (True, False):
                await self._timed(
                    self.participants.UpdateParticipant(
                        pb.UpdateParticipantRequest(name=first.name, muted=muted),
                        metadata=md,
                        timeout=30,
                    )
                )
            busy = self.busy_names[n % len(self.busy_names)]
            await self._timed(
                self.participants.UpdateParticipant(
                    pb.UpdateParticipantRequest(name=busy, muted=n % 2 == 0),
                    metadata=md,
                    timeout=30,
                )
            )
            await self._timed(
                self.participants.DeleteParticipant(
                    pb.DeleteParticipantRequest(name=second.name), metadata=md, timeout=30
                )
            )
            await self._timed(
                self.conferences.UpdateConference(
                    cpb.UpdateConferenceRequest(
                        name=f"{ACCOUNT}/conferences/{first.conference_sid}",
                        status=ppb.CONFERENCE_STATUS_COMPLETED,
                    ),
                    metadata=md,
                    timeout=30,
                )
            )
        except grpc.aio.AioRpcError:
            self.failures += 1

    async def run(self, seconds: float) -> None:
        """Start a lifecycle every 1/LIFECYCLES_PER_SECOND s (open loop) for `seconds`."""
        tasks: set[asyncio.Task[None]] = set()
        step = 1.0 / LIFECYCLES_PER_SECOND
        loop = asyncio.get_running_loop()
        due = loop.time()
        ends = due + seconds
        while due < ends:
            await asyncio.sleep(max(0.0, due - loop.time()))  # pacing, not ordering
            self._count += 1
            task = asyncio.create_task(self.lifecycle(self._count))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            due += step
        if tasks:
            await asyncio.wait(tasks, timeout=60)


async def fixtures(channel: grpc.aio.Channel) -> tuple[list[str], int]:
    """The busy conferences' participants, and the live ones; returns their names
    and how many live participants there are."""
    stub = pb_grpc.ParticipantServiceStub(channel)
    names = []
    for i in range(BUSY_CONFERENCES + LIVE_PARTICIPANTS):
        conference = f"busy-{i}" if i < BUSY_CONFERENCES else f"live-{i % 4}"
        response = await stub.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=f"{ACCOUNT}/conferences/{conference}", from_endpoint=target.FROM,
                to_endpoint=target.ANSWER_AT_ONCE,
            ),
            metadata=target.METADATA, timeout=30,
        )  # fmt: skip
        names.append(response.participant.name)
    return names[:BUSY_CONFERENCES], LIVE_PARTICIPANTS + BUSY_CONFERENCES
