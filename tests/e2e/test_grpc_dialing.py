"""End to end: the simulated carrier drives participant status on the manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rollcall.v1 import participant_pb2 as S
from tests.conftest import Harness, started
from tests.e2e.helpers import create, fetch, list_all

OUTCOMES = (
    "+15550000001=busy,+15550000002=no-answer,+15550000003=failed,"
    "+15550000004=hangup:30,+15550000005=answer:8"
)


@pytest.fixture
async def dialing(tmp_path: Path) -> AsyncIterator[Harness]:
    async with started(tmp_path, sim_outcomes=OUTCOMES) as h:
        yield h


@pytest.mark.parametrize(
    ("to", "call_status"),
    [("+15550000001", S.CALL_STATUS_BUSY), ("+15550000003", S.CALL_STATUS_FAILED)],
)
async def test_unreachable_calls_fail(dialing: Harness, to: str, call_status: int) -> None:
    keep = (await create(dialing, "room")).participant
    p = (await create(dialing, "room", to=to)).participant
    await dialing.advance(1)
    final = await fetch(dialing, p.conference_sid, p.call_sid, include_ended=True)
    assert final.status == S.PARTICIPANT_STATUS_FAILED
    assert final.call_status == call_status
    assert final.leave_reason == S.PARTICIPANT_LEAVE_REASON_PARTICIPANT_ADD_FAILED
    assert [x.call_sid for x in await list_all(dialing, p.conference_sid)] == [keep.call_sid]


async def test_no_answer_after_timeout(dialing: Harness) -> None:
    p = (await create(dialing, "room", to="+15550000002", timeout=10)).participant
    await dialing.advance(9)
    assert (
        await fetch(dialing, p.conference_sid, p.call_sid)
    ).status == S.PARTICIPANT_STATUS_RINGING
    await dialing.advance(1)
    final = await fetch(dialing, p.conference_sid, p.call_sid, include_ended=True)
    assert final.call_status == S.CALL_STATUS_NO_ANSWER


async def test_ringing_longer_than_timeout_is_no_answer(dialing: Harness) -> None:
    slow = (await create(dialing, "room", to="+15550000005", timeout=5)).participant
    patient = (await create(dialing, "room", to="+15550000005", timeout=9)).participant
    await dialing.advance(5)
    final = await fetch(dialing, slow.conference_sid, slow.call_sid, include_ended=True)
    assert final.call_status == S.CALL_STATUS_NO_ANSWER
    await dialing.advance(3)
    joined = await fetch(dialing, patient.conference_sid, patient.call_sid)
    assert joined.status == S.PARTICIPANT_STATUS_CONNECTED


async def test_hangup_and_time_limit_complete_the_call(dialing: Harness) -> None:
    a = (await create(dialing, "room", to="+15550000004")).participant
    b = (await create(dialing, "room", time_limit=10)).participant
    await dialing.advance(2)
    assert (
        await fetch(dialing, a.conference_sid, a.call_sid)
    ).status == S.PARTICIPANT_STATUS_CONNECTED
    await dialing.advance(10)
    done_b = await fetch(dialing, b.conference_sid, b.call_sid, include_ended=True)
    assert done_b.status == S.PARTICIPANT_STATUS_COMPLETE
    assert done_b.leave_reason == S.PARTICIPANT_LEAVE_REASON_PARTICIPANT_HUNG_UP
    await dialing.advance(20)
    done_a = await fetch(dialing, a.conference_sid, a.call_sid, include_ended=True)
    assert done_a.status == S.PARTICIPANT_STATUS_COMPLETE
    # Last one out: the conference is over.
    assert await list_all(dialing, a.conference_sid) == []


async def test_calls_per_second_queue(tmp_path: Path) -> None:
    async with started(tmp_path, sim_calls_per_second=1.0) as h:
        made = [(await create(h, "room")).participant for _ in range(3)]
        assert [p.queue_time_ms for p in made] == [0, 1000, 2000]
        await h.advance(0)
        statuses = [(await fetch(h, p.conference_sid, p.call_sid)).status for p in made]
        assert statuses == [
            S.PARTICIPANT_STATUS_RINGING,
            S.PARTICIPANT_STATUS_QUEUED,
            S.PARTICIPANT_STATUS_QUEUED,
        ]
