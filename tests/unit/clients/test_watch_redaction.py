"""A redaction event folds into the client's state without bringing back an
ended participant or conference (clients.watch_items, clients.floor)."""

from __future__ import annotations

from clients.floor import FloorState, account_item
from clients.watch_items import ConferenceState
from rollcall.v1 import participant_service_pb2 as pb
from tests.unit.clients.test_floor import conf, event
from tests.unit.clients.test_floor import person as floor_person
from tests.unit.clients.test_watch import A, B, complete, initial, items_of, person
from tests.unit.clients.test_watch import event as watch_event

T = pb


def test_a_redacted_participant_that_left_stays_gone() -> None:
    state = ConferenceState()
    blank = person("CA2", 8)
    for item in items_of(
        initial(A),
        initial(B),
        complete(5),
        watch_event(6, T.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT, B),
        watch_event(7, T.CONFERENCE_EVENT_TYPE_PARTICIPANT_REDACTED, blank),
    ):
        state.apply(item)
    assert list(state.participants) == ["CA1"] and state.revision == 7


def test_a_redaction_after_a_conference_ended_leaves_the_floor_alone() -> None:
    state = FloorState()
    ended = conf("CF1", "desk-1", 5)
    state.apply(account_item(event(T.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED, ended)))
    redacted = conf("CF1", "desk-1", 6)
    gone = floor_person("CF1", "CA1", "")
    state.apply(account_item(event(T.CONFERENCE_EVENT_TYPE_PARTICIPANT_REDACTED, redacted, gone)))
    assert "CF1" not in state.conferences
