"""FloorState folds an account watch's items into the live conferences and
their participants; the floor table (clients.cli_floor)."""

from __future__ import annotations

from clients.cli_floor import floor_lines, floor_rows
from clients.errors import RollcallClientError
from clients.floor import FloorState, account_item
from clients.watch_items import Reconnected
from rollcall.v1 import participant_pb2 as S
from rollcall.v1 import participant_service_pb2 as pb

T = pb


def conf(sid: str, name: str, revision: int) -> S.Conference:
    return S.Conference(conference_sid=sid, friendly_name=name, revision=revision)


def person(sid: str, call: str, label: str, **fields: object) -> S.Participant:
    values: dict[str, object] = {"status": S.PARTICIPANT_STATUS_CONNECTED, **fields}
    p = S.Participant(conference_sid=sid, call_sid=call, label=label, **values)  # type: ignore[arg-type]
    p.date_updated.FromSeconds(100)
    return p


def snapshot(c: S.Conference, *people: S.Participant) -> pb.WatchAccountResponse:
    return pb.WatchAccountResponse(
        conference_snapshot=pb.ConferenceSnapshot(conference=c, participants=people)
    )


def event(
    kind: int, c: S.Conference, p: S.Participant | None = None, at: int = 200
) -> pb.WatchAccountResponse:
    e = pb.ConferenceEvent(revision=c.revision, type=kind, conference=c)  # type: ignore[arg-type]
    if p is not None:
        e.participant.CopyFrom(p)
    e.time.FromSeconds(at)
    return pb.WatchAccountResponse(event=e, cursor=f"AW{c.revision}")


def test_snapshot_then_events_fold_into_the_floor() -> None:
    state = FloorState()
    a = person("CF1", "CA1", "agent")
    for response in (
        snapshot(conf("CF1", "desk-1", 3), a),
        snapshot(conf("CF2", "desk-2", 1)),
        pb.WatchAccountResponse(
            snapshot_complete=pb.AccountSnapshotComplete(conferences=2), cursor="AWs"
        ),
    ):
        state.apply(account_item(response))
    assert state.ready and state.cursor == "AWs"
    assert set(state.conferences) == {"CF1", "CF2"}
    assert state.since["CA1"] == 100
    muted = person("CF1", "CA1", "agent", muted=True)
    state.apply(
        account_item(
            event(T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED, conf("CF1", "desk-1", 4), muted)
        )
    )
    assert state.participants["CF1"]["CA1"].muted and state.since["CA1"] == 200
    assert state.cursor == "AW4"
    # A change that leaves the state alone keeps its time.
    same = person("CF1", "CA1", "agent", muted=True, revision=5)
    state.apply(
        account_item(
            event(
                T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MODIFIED, conf("CF1", "desk-1", 5), same, at=300
            )
        )
    )
    assert state.since["CA1"] == 200
    # A new conference appears with its first event; one that ends goes.
    b = person("CF3", "CA3", "rep", status=S.PARTICIPANT_STATUS_QUEUED)
    state.apply(
        account_item(
            event(T.CONFERENCE_EVENT_TYPE_CALL_STATUS_CHANGED, conf("CF3", "desk-3", 1), b)
        )
    )
    assert state.participants["CF3"]["CA3"].label == "rep"
    left = person("CF1", "CA1", "agent", status=S.PARTICIPANT_STATUS_COMPLETE)
    state.apply(
        account_item(
            event(T.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT, conf("CF1", "desk-1", 6), left)
        )
    )
    assert state.participants["CF1"] == {} and "CA1" not in state.since
    state.apply(
        account_item(event(T.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED, conf("CF1", "desk-1", 7)))
    )
    assert set(state.conferences) == {"CF2", "CF3"}
    rows = floor_rows(state, now=260)
    assert rows[0][:2] == ("desk-2", "-")
    assert rows[1] == ("desk-3", "rep", "queued", "-", "-", "-", "1:00")


def test_a_resnapshot_replaces_everything() -> None:
    state = FloorState()
    state.apply(account_item(snapshot(conf("CF1", "old", 1), person("CF1", "CA1", "x"))))
    state.apply(
        account_item(
            pb.WatchAccountResponse(snapshot_complete=pb.AccountSnapshotComplete(), cursor="AW1")
        )
    )
    error = RollcallClientError("OUT_OF_RANGE", "CURSOR_EXPIRED", "gone")
    state.apply(Reconnected("resnapshot", None, error))
    assert not state.ready and state.conferences == {} and state.cursor is None
    state.apply(account_item(snapshot(conf("CF2", "new", 2))))
    state.apply(
        account_item(
            pb.WatchAccountResponse(snapshot_complete=pb.AccountSnapshotComplete(), cursor="AW2")
        )
    )
    assert set(state.conferences) == {"CF2"} and state.ready


def test_plain_floor_lines() -> None:
    state = FloorState()
    done = account_item(
        pb.WatchAccountResponse(snapshot_complete=pb.AccountSnapshotComplete(), cursor="AW")
    )
    state.apply(done)
    assert floor_lines(state, done, 0).pop().startswith("CONFERENCE")
    joined = account_item(
        event(
            T.CONFERENCE_EVENT_TYPE_PARTICIPANT_JOINED,
            conf("CF1", "desk", 1),
            person("CF1", "CA1", "agent"),
        )
    )
    state.apply(joined)
    (line,) = floor_lines(state, joined, 230)
    assert line.split() == ["participant-join", "desk", "agent", "connected", "-", "-", "-", "0:30"]
    assert "\x1b" not in line
