"""The client's watch without a server: reconnect decisions on scripted streams,
ConferenceState, event-type words, backoff, and how items are printed."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from clients import cli, watch
from clients.errors import RollcallClientError
from clients.output import watch_json, watch_text
from clients.watch import (
    PROGRESS_INTERVAL_KEY,
    announced_interval,
    backoff_delay,
    is_transient,
    watch_stream,
)
from clients.watch_items import (
    ConferenceState,
    EventItem,
    InitialParticipant,
    InitialStateComplete,
    ProgressItem,
    Reconnected,
    WatchItem,
    event_type_number,
    event_type_word,
    event_type_words,
    watch_item,
)
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.core import errors
from service.rpc.status import to_grpc_status

T = pb
CF = "CF" + "b" * 32
PARENT = f"accounts/AC{'a' * 32}/conferences/{CF}"


def person(call_sid: str, revision: int, **fields: Any) -> ppb.Participant:
    return ppb.Participant(call_sid=call_sid, conference_sid=CF, revision=revision, **fields)


def initial(p: ppb.Participant) -> pb.WatchConferenceResponse:
    return pb.WatchConferenceResponse(initial_participant=p)


def complete(revision: int) -> pb.WatchConferenceResponse:
    return pb.WatchConferenceResponse(
        initial_state_complete=pb.InitialStateComplete(
            revision=revision, conference=ppb.Conference(conference_sid=CF, revision=revision)
        )
    )


def event(
    revision: int, kind: pb.ConferenceEventType.ValueType, p: ppb.Participant | None = None
) -> pb.WatchConferenceResponse:
    return pb.WatchConferenceResponse(
        event=pb.ConferenceEvent(
            revision=revision,
            time=Timestamp(seconds=1_700_000_000),
            type=kind,
            participant=p,
            conference=ppb.Conference(conference_sid=CF, revision=revision),
        )
    )


def progress(revision: int) -> pb.WatchConferenceResponse:
    return pb.WatchConferenceResponse(progress=pb.ProgressMarker(revision=revision))


def failure(code: grpc.StatusCode, reason: str | None = None, **metadata: str) -> grpc.RpcError:
    """What a grpc.aio stream raises: with our google.rpc.Status when reason is given."""
    if reason is None:
        return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), "gone")
    status = to_grpc_status(
        errors.RollcallError(
            errors.Code(code.name),
            reason,
            "refused",
            twilio_code=None,
            http_status=500,
            metadata=metadata,
        )
    )
    return grpc.aio.AioRpcError(
        code, grpc.aio.Metadata(), grpc.aio.Metadata(*status.trailing_metadata), status.details
    )


# In a script: the stream goes silent instead of ending (a frozen link).
HANG = object()


class Script:
    """Scripted streams: each call replays responses, then fails, closes OK or
    hangs (HANG); `announce` is the progress interval (ms) its metadata gives."""

    def __init__(
        self,
        *streams: tuple[list[pb.WatchConferenceResponse], grpc.RpcError | object | None],
        announce: int | None = None,
    ):
        self.streams = list(streams)
        self.announce = announce
        self.requests: list[pb.WatchConferenceRequest] = []
        self.waited_for_ready: list[bool] = []
        self.cancelled = 0

    def __call__(self, request: pb.WatchConferenceRequest, wait_for_ready: bool) -> Script:
        self.requests.append(request)
        self.waited_for_ready.append(wait_for_ready)
        return self

    def __aiter__(self) -> AsyncIterator[bytes]:
        responses, error = self.streams.pop(0)
        return self._replay(responses, error)

    async def initial_metadata(self) -> grpc.aio.Metadata:
        if self.announce is None:
            return grpc.aio.Metadata()
        return grpc.aio.Metadata((PROGRESS_INTERVAL_KEY, str(self.announce)))

    async def _replay(
        self, responses: list[pb.WatchConferenceResponse], error: grpc.RpcError | object | None
    ) -> AsyncIterator[bytes]:
        for response in responses:
            yield response.SerializeToString()
        if error is HANG:
            await asyncio.get_running_loop().create_future()  # never resolved
        if isinstance(error, grpc.RpcError):
            raise error

    def cancel(self) -> None:
        self.cancelled += 1

    def resumed_after(self) -> list[int | None]:
        return [
            r.resume_after_revision if r.HasField("resume_after_revision") else None
            for r in self.requests
        ]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch, "backoff_delay", lambda failures, max_backoff: 0.0)


async def run(script: Script, **options: Any) -> list[WatchItem]:
    request = pb.WatchConferenceRequest(parent=PARENT)
    if "resume" in options:
        request.resume_after_revision = options.pop("resume")
    return [item async for item in watch_stream(script, request, **options)]


A, B = person("CA1", 4, label="agent"), person("CA2", 5, label="customer")
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
MUTED, LEFT = T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED, T.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT


async def test_resumes_after_the_last_revision_without_repeating_it() -> None:
    script = Script(
        ([initial(A), initial(B), complete(5), event(6, MUTED, A)], failure(UNAVAILABLE)),
        ([event(6, MUTED, A), progress(8)], failure(UNAVAILABLE)),
        ([pb.WatchConferenceResponse(), event(9, T.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED)], None),
    )  # fmt: skip
    items = await run(script)
    assert script.resumed_after() == [None, 6, 8]
    assert script.waited_for_ready == [False, True, True]  # fail fast only at first
    kinds = [type(i).__name__ for i in items]
    assert kinds == [
        "InitialParticipant", "InitialParticipant", "InitialStateComplete", "EventItem",
        "Reconnected", "ProgressItem", "Reconnected", "EventItem",
    ]  # fmt: skip
    notices = [i for i in items if isinstance(i, Reconnected)]
    assert [(n.kind, n.revision, n.error.code) for n in notices] == [
        ("resumed", 6, "UNAVAILABLE"),
        ("resumed", 8, "UNAVAILABLE"),
    ]
    assert script.cancelled == 3


async def test_one_notice_however_many_attempts_failed(caplog: pytest.LogCaptureFixture) -> None:
    script = Script(
        ([progress(3)], failure(UNAVAILABLE)),
        ([], failure(grpc.StatusCode.CANCELLED)),
        ([], failure(grpc.StatusCode.DEADLINE_EXCEEDED)),
        ([], failure(grpc.StatusCode.INTERNAL)),  # no Status: the transport, not us
        ([progress(3)], None),
    )
    items = await run(script, resume=1)
    assert script.resumed_after() == [1, 3, 3, 3, 3]
    assert items[1] == Reconnected("resumed", 3, items[1].error, attempts=4)  # type: ignore[union-attr]
    assert isinstance(items[1], Reconnected) and items[1].error.code == "INTERNAL"
    # One warning per outage, not per attempt.
    (warning,) = [r for r in caplog.records if r.name == "rollcall.client"]
    assert "stream lost (UNAVAILABLE" in warning.getMessage()


async def test_compacted_history_means_a_new_snapshot() -> None:
    compacted = failure(
        grpc.StatusCode.OUT_OF_RANGE,
        "REVISION_COMPACTED",
        oldest_revision="9",
        current_revision="9",
    )
    script = Script(
        ([event(3, T.CONFERENCE_EVENT_TYPE_PARTICIPANT_HELD, A)], failure(UNAVAILABLE)),
        ([], compacted),
        ([initial(B), complete(9)], None),
    )
    items = await run(script, resume=2)
    assert script.resumed_after() == [2, 3, None]
    notice = items[1]
    assert isinstance(notice, Reconnected)
    assert (notice.kind, notice.revision, notice.attempts) == ("resnapshot", 3, 2)
    assert (notice.error.reason, notice.error.metadata["oldest_revision"]) == (
        "REVISION_COMPACTED",
        "9",
    )
    state = ConferenceState()
    for item in items:
        state.apply(item)
    assert (state.revision, list(state.participants)) == (9, ["CA2"])


async def test_a_snapshot_cut_short_starts_over() -> None:
    script = Script(([initial(A)], failure(UNAVAILABLE)), ([initial(B), complete(7)], None))
    items = await run(script)
    assert script.resumed_after() == [None, None]
    assert isinstance(items[1], Reconnected)
    assert (items[1].kind, items[1].revision) == ("resnapshot", None)
    state = ConferenceState()
    for item in items:
        state.apply(item)
    assert list(state.participants) == ["CA2"] and state.ready


@pytest.mark.parametrize(
    ("error", "options"),
    [
        (failure(grpc.StatusCode.RESOURCE_EXHAUSTED, "WATCHER_LIMIT"), {}),
        (failure(grpc.StatusCode.NOT_FOUND, "CONFERENCE_NOT_FOUND"), {}),
        (failure(grpc.StatusCode.INVALID_ARGUMENT, "REVISION_FROM_FUTURE"), {}),
        (failure(grpc.StatusCode.INTERNAL, "INTERNAL"), {}),
        (failure(UNAVAILABLE), {"reconnect": False}),
        (failure(grpc.StatusCode.OUT_OF_RANGE, "REVISION_COMPACTED"), {"reconnect": False}),
    ],
)
async def test_other_errors_raise(error: grpc.RpcError, options: dict[str, Any]) -> None:
    script = Script(([progress(2)], error))
    with pytest.raises(RollcallClientError) as caught:
        await run(script, resume=1, **options)
    assert caught.value.code == error.code().name
    assert len(script.requests) == 1


async def test_a_closed_client_stops_reconnecting() -> None:
    script = Script(([progress(2)], failure(grpc.StatusCode.CANCELLED)))
    closed = False

    def is_closed() -> bool:
        return closed

    items = watch_stream(script, pb.WatchConferenceRequest(parent=PARENT), closed=is_closed)
    assert isinstance(await anext(items), ProgressItem)
    closed = True
    with pytest.raises(RollcallClientError, match="CLIENT_CLOSED"):
        await anext(items)


async def test_a_silent_stream_is_cancelled_and_resumed(caplog: pytest.LogCaptureFixture) -> None:
    script = Script(([progress(3)], HANG), ([], HANG), ([progress(4)], None))
    items = await run(script, resume=1, idle_timeout=0.01)
    assert script.resumed_after() == [1, 3, 3]
    assert script.cancelled == 3
    progress_3, notice, progress_4 = items
    assert isinstance(progress_3, ProgressItem) and isinstance(progress_4, ProgressItem)
    assert notice == Reconnected("resumed", 3, notice.error, attempts=2)  # type: ignore[union-attr]
    assert isinstance(notice, Reconnected)
    assert (notice.error.code, notice.error.reason) == ("DEADLINE_EXCEEDED", "STREAM_IDLE")
    assert notice.error.message == "no item or progress marker for 0.01 s"
    # Said once for the outage, however many silent attempts it took.
    (warning,) = [r for r in caplog.records if r.name == "rollcall.client"]
    assert warning.getMessage().endswith(
        "stream lost (DEADLINE_EXCEEDED STREAM_IDLE: no item or progress marker for 0.01 s);"
        " reconnecting"
    )


async def test_the_idle_timeout_is_three_announced_progress_intervals() -> None:
    script = Script(([progress(3)], HANG), announce=4)
    with pytest.raises(RollcallClientError) as caught:
        await run(script, resume=1, reconnect=False)
    assert (caught.value.code, caught.value.reason) == ("DEADLINE_EXCEEDED", "STREAM_IDLE")
    assert caught.value.message == "no item or progress marker for 0.012 s"


def test_announced_interval() -> None:
    assert announced_interval(grpc.aio.Metadata((PROGRESS_INTERVAL_KEY, "1500"))) == 1.5
    assert announced_interval(grpc.aio.Metadata(("other", "1500"))) is None
    assert announced_interval(None) is None
    for garbage in ("", "soon", "0", "-5"):
        assert announced_interval(((PROGRESS_INTERVAL_KEY, garbage),)) is None


def test_transient_codes() -> None:
    assert is_transient(failure(UNAVAILABLE))
    assert is_transient(failure(UNAVAILABLE, "WATCH_UNAVAILABLE"))
    assert is_transient(failure(grpc.StatusCode.INTERNAL))
    assert not is_transient(failure(grpc.StatusCode.INTERNAL, "INTERNAL"))
    assert not is_transient(failure(grpc.StatusCode.RESOURCE_EXHAUSTED))
    assert not is_transient(failure(grpc.StatusCode.UNKNOWN))


def test_backoff_doubles_is_capped_and_jittered() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, 5.0, rng) for n in range(12)]
    for n, delay in enumerate(delays):
        ceiling = min(5.0, 0.1 * 2**n)
        assert ceiling / 2 <= delay <= ceiling
    assert backoff_delay(10_000, 0.5) <= 0.5


# --- ConferenceState ---------------------------------------------------------


def items_of(*responses: pb.WatchConferenceResponse) -> list[WatchItem]:
    return [watch_item(r) for r in responses]


def test_state_follows_joins_changes_and_leaves() -> None:
    state = ConferenceState()
    assert not state.ready
    muted_a = person("CA1", 6, label="agent", muted=True)
    c = person("CA3", 7, label="supervisor")
    for item in items_of(
        initial(A),
        initial(B),
        complete(5),
        event(6, T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED, muted_a),
        event(7, T.CONFERENCE_EVENT_TYPE_CALL_STATUS_CHANGED, c),
        event(8, T.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT, B),
        event(6, T.CONFERENCE_EVENT_TYPE_PARTICIPANT_UNMUTED, A),  # a repeat: ignored
        progress(9),
    ):
        state.apply(item)
    assert state.ready and state.revision == 9
    assert state.participants == {"CA1": muted_a, "CA3": c}
    assert state.by_label("supervisor") == c and state.by_label("customer") is None
    assert state.conference is not None and state.conference.revision == 8


def test_a_new_snapshot_replaces_the_state() -> None:
    state = ConferenceState()
    for item in items_of(initial(A), initial(B), complete(5), initial(B), complete(9)):
        state.apply(item)
    assert list(state.participants) == ["CA2"] and state.revision == 9
    for item in items_of(complete(10)):  # a snapshot of nobody
        state.apply(item)
    assert state.participants == {} and state.revision == 10


def test_resnapshot_clears_and_resumed_keeps() -> None:
    state = ConferenceState()
    for item in items_of(initial(A), complete(5)):
        state.apply(item)
    error = RollcallClientError("UNAVAILABLE", "UNAVAILABLE", "gone")
    state.apply(Reconnected("resumed", 5, error))
    assert state.ready and list(state.participants) == ["CA1"]
    state.apply(Reconnected("resnapshot", 5, error))
    assert not state.ready and state.participants == {} and state.revision is None
    state.apply(watch_item(progress(6)))  # a resume with no snapshot: coverage only
    assert state.revision == 6


# --- event-type words ----------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "number"),
    [
        ("participant-join", T.CONFERENCE_EVENT_TYPE_PARTICIPANT_JOINED),
        ("participant-leave", T.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT),
        ("participant-mute", T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED),
        ("Participant-Unmute", T.CONFERENCE_EVENT_TYPE_PARTICIPANT_UNMUTED),
        ("participant-hold", T.CONFERENCE_EVENT_TYPE_PARTICIPANT_HELD),
        ("participant_unhold", T.CONFERENCE_EVENT_TYPE_PARTICIPANT_UNHELD),
        ("participant-modify", T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MODIFIED),
        ("call-status-changed", T.CONFERENCE_EVENT_TYPE_CALL_STATUS_CHANGED),
        ("announcement-end", T.CONFERENCE_EVENT_TYPE_ANNOUNCEMENT_ENDED),
        ("announcement-fail", T.CONFERENCE_EVENT_TYPE_ANNOUNCEMENT_FAILED),
        ("conference-start", T.CONFERENCE_EVENT_TYPE_CONFERENCE_STARTED),
        ("conference-end", T.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED),
        ("CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED", T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED),
        ("PARTICIPANT_HELD", T.CONFERENCE_EVENT_TYPE_PARTICIPANT_HELD),
        ("participant-left", T.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT),
        ("12", T.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED),
        (1, T.CONFERENCE_EVENT_TYPE_PARTICIPANT_JOINED),
    ],
)
def test_event_type_words(word: str | int, number: int) -> None:
    assert event_type_number(word) == number


@pytest.mark.parametrize("word", ["", "participant", "unspecified", "0", 0, 99, "talking"])
def test_unknown_event_types_name_the_words(word: str | int) -> None:
    with pytest.raises(ValueError, match="participant-mute, participant-unmute"):
        event_type_number(word)


def test_each_type_prints_as_its_twilio_word() -> None:
    words = event_type_words()
    assert len(words) == len(pb.ConferenceEventType.DESCRIPTOR.values) - 1
    for word in words:
        assert event_type_word(event_type_number(word)) == word
    assert event_type_word(99) == "99"


# --- printing and the command line -------------------------------------------------


def test_watch_lines() -> None:
    muted = person("CA1", 6, label="agent", muted=True, status=ppb.PARTICIPANT_STATUS_CONNECTED)
    ended = event(9, T.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED)
    ended.event.conference.status = ppb.CONFERENCE_STATUS_COMPLETED
    ended.event.conference.end_reason = ppb.CONFERENCE_END_REASON_LAST_PARTICIPANT_LEFT
    error = RollcallClientError("UNAVAILABLE", "UNAVAILABLE", "gone")
    compacted = RollcallClientError("OUT_OF_RANGE", "REVISION_COMPACTED", "gone")
    lines = [
        watch_text(item)
        for item in [
            *items_of(
                initial(B),
                complete(5),
                event(6, T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED, muted),
                progress(8),
                ended,
            ),
            Reconnected("resumed", 15, error),
            Reconnected("resnapshot", 15, compacted),
        ]
    ]
    assert lines == [
        "r5 snapshot CA2 label=customer muted=false hold=false status=-",
        "-- snapshot complete at r5",
        "r6 2023-11-14T22:13:20Z participant-mute CA1 label=agent muted=true hold=false "
        "status=connected",
        "-- progress r8",
        f"r9 2023-11-14T22:13:20Z conference-end {CF} status=completed "
        "end_reason=last-participant-left",
        "-- reconnected: resumed after r15 (UNAVAILABLE)",
        "-- reconnected: state dropped, new snapshot follows (OUT_OF_RANGE REVISION_COMPACTED)",
    ]


def test_watch_json_lines() -> None:
    first = json.loads(
        watch_json(watch_item(event(6, T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED, A)))
    )
    assert first["kind"] == "event"
    assert first["event"]["type"] == "CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED"
    assert first["event"]["participant"]["call_sid"] == "CA1"
    assert first["event"]["participant"]["muted"] is False  # defaults are present
    done = json.loads(watch_json(watch_item(complete(5))))
    assert (done["kind"], done["initial_state_complete"]["revision"]) == (
        "initial_state_complete",
        "5",
    )
    error = RollcallClientError("UNAVAILABLE", "UNAVAILABLE", "gone")
    notice = json.loads(watch_json(Reconnected("resumed", 15, error, attempts=2)))
    assert notice == {
        "kind": "resumed",
        "revision": "15",
        "attempts": 2,
        "error": {"code": "UNAVAILABLE", "reason": "UNAVAILABLE", "message": "gone"},
    }
    assert "\n" not in watch_json(watch_item(initial(A)))


def test_watch_command_parses_words_into_numbers() -> None:
    args = cli.build_parser().parse_args(
        ["watch", CF, "--type", "participant-mute", "--type", "PARTICIPANT_LEFT",
         "--participant", "agent", "--participant", "CA1", "--resume-after", "5", "--json",
         "--no-reconnect"]
    )  # fmt: skip
    assert args.types == [
        T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED,
        T.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT,
    ]
    assert (args.participants, args.resume_after, args.json, args.reconnect) == (
        ["agent", "CA1"],
        5,
        True,
        False,
    )


def test_watch_command_refuses_unknown_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["watch", CF, "--type", "participant-talk"]) == 2
    assert "participant-join" in capsys.readouterr().err


def test_items_keep_the_raw_response() -> None:
    response = initial(A)
    item = watch_item(response)
    assert isinstance(item, InitialParticipant) and item.raw is response
    assert isinstance(watch_item(complete(3)), InitialStateComplete)
    assert isinstance(
        watch_item(event(3, T.CONFERENCE_EVENT_TYPE_PARTICIPANT_JOINED, A)), EventItem
    )
    with pytest.raises(ValueError, match="without an item"):
        watch_item(pb.WatchConferenceResponse())
