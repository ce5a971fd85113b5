"""A redaction event folds into the client's state without bringing back an
ended participant or conference (clients.watch_items, clients.floor)."""

from __future__ import annotations

from clients.floor import FloorState, account_item
from clients.watch_items import ConferenceState, watch_item
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb

CF = "CF" + "1" * 32


def person(call_sid: str, revision: int, label: str = "") -> ppb.Participant:
    return ppb.Participant(call_sid=call_sid, conference_sid=CF, revision=revision, label=label)


def conference(revision: int) -> ppb.Conference:
    return ppb.Conference(conference_sid=CF, friendly_name="desk", revision=revision)


def change(
    revision: int, kind: pb.ConferenceEventType.ValueType, p: ppb.Participant | None = None
) -> pb.ConferenceEvent:
    e = pb.ConferenceEvent(revision=revision, type=kind, conference=conference(revision))
    if p is not None:
        e.participant.CopyFrom(p)
    e.time.FromSeconds(1_700_000_000)
    return e


def test_a_redacted_participant_that_left_stays_gone() -> None:
    state = ConferenceState()
    a, b = person("CA1", 1, "agent"), person("CA2", 2, "customer")
    for response in (
        pb.WatchConferenceResponse(initial_participant=a),
        pb.WatchConferenceResponse(initial_participant=b),
        pb.WatchConferenceResponse(
            initial_state_complete=pb.InitialStateComplete(revision=5, conference=conference(5))
        ),
        pb.WatchConferenceResponse(event=change(6, pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT, b)),
        pb.WatchConferenceResponse(
            event=change(7, pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_REDACTED, person("CA2", 7))
        ),
    ):
        state.apply(watch_item(response))
    assert list(state.participants) == ["CA1"] and state.revision == 7


def test_a_redaction_after_a_conference_ended_leaves_the_floor_alone() -> None:
    state = FloorState()
    for e in (
        change(5, pb.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED),
        change(6, pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_REDACTED, person("CA2", 6)),
    ):
        state.apply(account_item(pb.WatchAccountResponse(event=e, cursor=f"AW{e.revision}")))
    assert CF not in state.conferences
