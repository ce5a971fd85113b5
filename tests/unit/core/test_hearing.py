"""Who hears whom: the one pure function, rule by rule."""

from __future__ import annotations

import dataclasses

from service.core.hearing import heard_by, hearing
from service.core.records import Participant
from service.core.statuses import CallStatus, ParticipantStatus, Role

A, B, C, S = ("CA" + ch * 32 for ch in "abcd")


def participant(call_sid: str, **fields: object) -> Participant:
    p = Participant(
        call_sid=call_sid, account_sid="AC" + "a" * 32, conference_sid="CF" + "b" * 32,
        conference_friendly_name="room", label=None, status=ParticipantStatus.CONNECTED,
        call_status=CallStatus.IN_PROGRESS, from_endpoint="+1", to_endpoint="+2",
        date_created=0.0, date_updated=0.0, revision=1,
    )  # fmt: skip
    return dataclasses.replace(p, **fields)  # type: ignore[arg-type]


def test_everyone_hears_everyone_else_and_only_connected_ones_are_in_the_audio() -> None:
    ringing = participant(C, status=ParticipantStatus.RINGING)
    assert hearing([participant(B), participant(A), ringing]) == {A: (B,), B: (A,)}


def test_muted_is_heard_by_no_one_and_still_hears() -> None:
    assert hearing([participant(A, muted=True), participant(B)]) == {A: (B,), B: ()}


def test_hold_hears_no_one_and_is_heard_by_no_one() -> None:
    matrix = hearing([participant(A, hold=True), participant(B), participant(C)])
    assert matrix == {A: (), B: (C,), C: (B,)}


def test_each_role() -> None:
    base = [participant(A), participant(B), participant(C)]
    monitor = hearing([*base, participant(S, role=Role.MONITOR, muted=True)])
    assert monitor[S] == (A, B, C) and all(S not in monitor[x] for x in (A, B, C))
    whisper = hearing([*base, participant(S, role=Role.WHISPER, whisper_targets=(A, C))])
    assert whisper[A] == (B, C, S) and whisper[B] == (A, C) and whisper[C] == (A, B, S)
    barge = hearing([*base, participant(S, role=Role.BARGE)])
    assert all(S in barge[x] for x in (A, B, C))
    muted_whisper = participant(S, role=Role.WHISPER, whisper_targets=(A,), muted=True)
    assert S not in hearing([*base, muted_whisper])[A]


def test_heard_by_reads_the_matrix_the_other_way() -> None:
    matrix = hearing(
        [participant(A), participant(B), participant(S, role=Role.WHISPER, whisper_targets=(A,))]
    )
    assert heard_by(matrix) == {A: (B, S), B: (A, S), S: (A,)}
